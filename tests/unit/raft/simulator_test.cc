// The deterministic simulator (simulator.h) over thousands of seeds: three
// and five voters, and a group that grows from three to five through
// learners and shrinks back, leaders included. A failing seed is printed
// with the command that replays it; WARREN_RAFT_SEEDS=N runs N seeds per
// test instead of the default, WARREN_RAFT_SEED=S runs only seed S, and
// WARREN_RAFT_TRACE=1 prints its every event and message.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "seeds.h"
#include "simulator.h"

namespace warren::raft::sim {
namespace {

constexpr uint64_t kDefaultSeeds = testkit::DefaultSeeds(3000);

// Printed if the core stops the process on a broken invariant (RAFT_CHECK)
// in the middle of a seed, so even a crash says how to replay it.
char replay_line[256];

void OnAbort(int) {
  ssize_t ignored = write(STDERR_FILENO, replay_line, std::strlen(replay_line));
  (void)ignored;
}

std::string ReplayCommand(uint64_t seed) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "WARREN_RAFT_SEED=" + std::to_string(seed) +
         " WARREN_RAFT_TRACE=1 build/tests/unit/warren_raft_tests --gtest_filter=" +
         info->test_suite_name() + "." + info->name();
}

void RunSeeds(const Scenario& scenario) {
  bool one = std::getenv("WARREN_RAFT_SEED") != nullptr;
  uint64_t first = testkit::EnvNumber("WARREN_RAFT_SEED", 1);
  uint64_t count = one ? 1 : testkit::EnvNumber("WARREN_RAFT_SEEDS", kDefaultSeeds);
  bool trace = testkit::EnvNumber("WARREN_RAFT_TRACE", 0) != 0;
  struct sigaction sa = {};
  sa.sa_handler = OnAbort;
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGABRT, &sa, nullptr);

  RunResult total;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    std::snprintf(replay_line, sizeof replay_line, "\nseed %llu aborted; replay with:\n  %s\n",
                  static_cast<unsigned long long>(seed), ReplayCommand(seed).c_str());
    RunResult r = RunSeed(scenario, seed, trace);
    if (!r.failure.empty()) {
      ADD_FAILURE() << scenario.name << ", seed " << seed << ": " << r.failure
                    << "\nreplay with:\n  " << ReplayCommand(seed);
      break;
    }
    total.heal_ticks = std::max(total.heal_ticks, r.heal_ticks);
    total.acked += r.acked;
    total.installs += r.installs;
    total.membership_changes += r.membership_changes;
    total.crashes += r.crashes;
    total.lost_writes += r.lost_writes;
  }
  signal(SIGABRT, SIG_DFL);
  std::printf("%s: %llu seeds, %llu commands acknowledged, %llu crashes losing %llu writes, "
              "%llu snapshots installed, %llu membership changes, leader within %llu ticks "
              "of healing at worst\n",
              scenario.name, static_cast<unsigned long long>(count),
              static_cast<unsigned long long>(total.acked),
              static_cast<unsigned long long>(total.crashes),
              static_cast<unsigned long long>(total.lost_writes),
              static_cast<unsigned long long>(total.installs),
              static_cast<unsigned long long>(total.membership_changes),
              static_cast<unsigned long long>(total.heal_ticks));
  if (one || ::testing::Test::HasFailure()) return;
  // The runs must have exercised what they claim to.
  EXPECT_GT(total.acked, count * 5);
  EXPECT_GT(total.installs, 0u);
  EXPECT_GT(total.lost_writes, 0u);
  if (scenario.membership) {
    EXPECT_GT(total.membership_changes, count);
  }
}

TEST(RaftSimulator, ThreeVotersStaySafeAndConvergeUnderFaults) {
  RunSeeds({.name = "three voters", .voters = 3});
}

TEST(RaftSimulator, FiveVotersStaySafeAndConvergeUnderFaults) {
  RunSeeds({.name = "five voters", .voters = 5});
}

TEST(RaftSimulator, GrowingAndShrinkingGroupStaysSafeAndConverges) {
  RunSeeds({.name = "membership 3-5", .voters = 3, .membership = true});
}

}  // namespace
}  // namespace warren::raft::sim
