// The simulator: a seed draws a fault model (loss, duplication, delay and so
// reordering, slow disks) and a schedule of events (crashes that lose
// unsynced writes, restarts, symmetric and one-way partitions, client
// proposals, membership changes, snapshots, leadership transfers) and runs
// a SimCluster through it, the Oracle checking safety after every tick.
// Then everything heals (all links up, every node up, no loss) and the run
// must elect a leader and bring every member to the same state within
// bounded ticks, with every acknowledged command in it.
#pragma once

#include <cstdint>
#include <string>

namespace warren::raft::sim {

struct Scenario {
  const char* name = "";
  int voters = 3;           // the group's first members
  bool membership = false;  // add learners, promote, remove (leaders too)
  int max_members = 5;
  int min_voters = 3;
  int chaos_ticks = 500;
};

struct RunResult {
  std::string failure;  // empty: every check passed
  uint64_t heal_ticks = 0;  // from healing to a leader with a commit of its term
  uint64_t acked = 0;
  uint64_t installs = 0;
  uint64_t membership_changes = 0;  // committed
  uint64_t crashes = 0;
  uint64_t lost_writes = 0;
};

// After healing, a leader must appear within this many ticks, and every
// member must then converge within as many again.
inline constexpr int kHealBound = 300;

RunResult RunSeed(const Scenario& scenario, uint64_t seed, bool trace);

}  // namespace warren::raft::sim
