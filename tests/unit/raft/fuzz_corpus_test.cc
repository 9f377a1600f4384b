// The seeds of warren_fuzz_raft_message (tests/fuzz/corpus-raft_message) must
// stay messages the decoder accepts, so the fuzzer starts deep inside it.
// Regenerate them with warren_raft_fuzz_corpus (tests/fuzz/).
#include <gtest/gtest.h>

#include "fuzz_seeds.h"
#include "raft/codec.h"

namespace warren::raft {
namespace {

TEST(RaftFuzzCorpus, EverySeedIsAMessage) {
  auto seeds = testkit::FuzzSeeds("corpus-raft_message");
  for (const auto& [path, bytes] : seeds) {
    Result<Message> m = DecodeMessage(bytes);
    EXPECT_TRUE(m.ok()) << path << ": " << (m.ok() ? "" : m.error().text);
  }
  EXPECT_GE(seeds.size(), 7u) << "one seed per message kind";
}

}  // namespace
}  // namespace warren::raft
