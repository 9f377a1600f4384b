// The seeds of warren_fuzz_raft_message (tests/fuzz/corpus-raft_message) must
// stay messages the decoder accepts, so the fuzzer starts deep inside it.
// Regenerate them with warren_raft_fuzz_corpus (tests/fuzz/).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "raft/codec.h"

namespace warren::raft {
namespace {

namespace fs = std::filesystem;

TEST(RaftFuzzCorpus, EverySeedIsAMessage) {
  int seeds = 0;
  for (const auto& e : fs::directory_iterator(fs::path(WARREN_SOURCE_DIR) / "tests" / "fuzz" /
                                              "corpus-raft_message")) {
    ++seeds;
    std::ifstream f(e.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << f.rdbuf();
    Result<Message> m = DecodeMessage(bytes.str());
    EXPECT_TRUE(m.ok()) << e.path() << ": " << (m.ok() ? "" : m.error().text);
  }
  EXPECT_GE(seeds, 7) << "one seed per message kind";
}

}  // namespace
}  // namespace warren::raft
