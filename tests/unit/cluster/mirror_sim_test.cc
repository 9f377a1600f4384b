// The replication simulator (mirror_sim.h) over many seeds: faults of every
// kind, and the home crashed while a mirror syncs. A failing seed is printed
// with the command that replays it; WARREN_MIRROR_SEEDS=N runs N seeds per
// test instead of the default, WARREN_MIRROR_SEED=S runs only seed S, and
// WARREN_MIRROR_TRACE=1 prints its events and the members' logs.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "mirror_sim.h"
#include "seeds.h"

namespace warren::cluster::sim {
namespace {

constexpr uint64_t kDefaultSeeds = testkit::DefaultSeeds(100);

void RunSeeds(const MirrorScenario& scenario) {
  bool one = std::getenv("WARREN_MIRROR_SEED") != nullptr;
  uint64_t first = testkit::EnvNumber("WARREN_MIRROR_SEED", 1);
  uint64_t count = one ? 1 : testkit::EnvNumber("WARREN_MIRROR_SEEDS", kDefaultSeeds);
  bool trace = testkit::EnvNumber("WARREN_MIRROR_TRACE", 0) != 0;
  MirrorRunResult total;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    MirrorRunResult r = RunMirrorSeed(scenario, seed, trace);
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    ASSERT_EQ(r.failure, "") << "seed " << seed << "; replay: WARREN_MIRROR_SEED=" << seed
                             << " WARREN_MIRROR_TRACE=1 build/tests/unit/warren_cluster_tests "
                             << "--gtest_filter=" << info->test_suite_name() << "."
                             << info->name();
    total.published += r.published;
    total.confirmed += r.confirmed;
    total.delivered += r.delivered;
    total.redelivered += r.redelivered;
    total.crashes += r.crashes;
    total.cut_offs += r.cut_offs;
    total.stream_breaks += r.stream_breaks;
    total.slow_disks += r.slow_disks;
    total.moves += r.moves;
    total.crashed_in_sync += r.crashed_in_sync;
  }
  auto n = [](uint64_t v) { return std::to_string(v); };
  std::string summary = n(count) + " seeds: " + n(total.published) + " published, " +
                        n(total.confirmed) + " confirmed, " + n(total.delivered) +
                        " delivered (" + n(total.redelivered) + " redelivered); " +
                        n(total.crashes) + " crashes, " + n(total.cut_offs) + " cut-offs, " +
                        n(total.stream_breaks) + " stream breaks, " + n(total.slow_disks) +
                        " slow disks, " + n(total.moves) +
                        " moves of the home, " + n(total.crashed_in_sync) +
                        " homes crashed during a sync";
  std::puts(summary.c_str());
  // The runs tested something: messages went through failovers (a single
  // seed replayed need not have).
  if (count < 10) return;
  EXPECT_GT(total.confirmed, 0u);
  EXPECT_GT(total.moves, 0u);
  if (scenario.failover_during_sync) {
    EXPECT_GT(total.crashed_in_sync, 0u);
  }
}

TEST(MirrorSimulator, ConfirmedMessagesSurviveCrashesCutOffsAndBrokenStreams) {
  RunSeeds({"faults", 30000, false});
}

TEST(MirrorSimulator, ConfirmedMessagesSurviveTheHomeCrashingWhileAMirrorSyncs) {
  RunSeeds({"failover during sync", 30000, true});
}

}  // namespace
}  // namespace warren::cluster::sim
