// The store fuzzers' seeds (tests/fuzz/corpus-definitions, corpus-segment)
// must stay inputs the store reads without complaint, so the fuzzers start
// from deep inside recovery rather than at the first check. Regenerate with
// warren_store_fuzz_corpus (tests/fuzz/).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "../../fuzz/store_fuzz_input.h"
#include "broker/store/definitions.h"
#include "broker/store/message_log.h"
#include "store/store_fixture.h"

namespace warren::store {
namespace {

namespace fs = std::filesystem;
using test::Slurp;

fs::path FuzzDir() { return fs::path(WARREN_SOURCE_DIR) / "tests" / "fuzz"; }

class FuzzCorpusTest : public ::testing::Test {
 protected:
  FuzzCorpusTest()
      : dir_(fs::temp_directory_path() / ("warren-seeds-" + std::to_string(::getpid()))) {}
  ~FuzzCorpusTest() override { fs::remove_all(dir_); }

  // Writes what the fuzzer would make of `seed` to `file` in a fresh dir_.
  void Place(const fs::path& seed, const fs::path& file, FileKind kind) {
    std::string input = Slurp(seed);
    fuzz::PlaceFile(dir_, file, reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                    kind);
  }

  fs::path dir_;
};

TEST_F(FuzzCorpusTest, EveryDefinitionsSeedOpens) {
  int seeds = 0;
  for (const auto& e : fs::directory_iterator(FuzzDir() / "corpus-definitions")) {
    ++seeds;
    Place(e.path(), dir_ / "definitions.log", FileKind::kDefinitions);
    DefinitionsLog log;
    bool fresh;
    Status s = log.Open(dir_.string(), (dir_ / "damaged").string(), fresh);
    EXPECT_TRUE(s.ok()) << e.path() << ": " << s.error().text;
    EXPECT_FALSE(fs::exists(dir_ / "damaged")) << e.path() << " is damaged";
  }
  EXPECT_GE(seeds, 3);
}

TEST_F(FuzzCorpusTest, EverySegmentSeedRecoversRecords) {
  int seeds = 0;
  for (const auto& e : fs::directory_iterator(FuzzDir() / "corpus-segment")) {
    ++seeds;
    Place(e.path(), dir_ / "messages" / "00000000000000000001.seg", FileKind::kSegment);
    MessageLogOptions o;
    o.dir = (dir_ / "messages").string();
    o.damaged_dir = (dir_ / "damaged").string();
    o.fsync = false;
    o.post = [](std::function<void()>) {};
    MessageLog log(std::move(o));
    int records = 0;
    MessageLog::Replay replay;
    replay.publish = [&](const PublishInfo&) { ++records; };
    replay.mark = [&](LogRecord, uint64_t, uint64_t, uint32_t) { ++records; };
    ASSERT_TRUE(log.Recover(replay).ok()) << e.path();
    EXPECT_GT(records, 0) << e.path();
    EXPECT_EQ(log.recovery().damaged_ranges, 0u) << e.path();
  }
  EXPECT_GE(seeds, 3);
}

}  // namespace
}  // namespace warren::store
