// A node's disk as the simulator models it. What a Ready hands out is
// written in order but durable only once Sync() runs; a crash keeps a random
// prefix of the writes not yet synced (those that happened to reach the
// platter) and loses the rest. Load() is what a restart reads back.
#pragma once

#include <string>
#include <vector>

#include "raft/raft.h"
#include "sim_rng.h"

namespace warren::raft::sim {

class SimDisk {
 public:
  // A new group's first members start from Persisted::Bootstrap.
  void Format(const Persisted& initial);
  void Write(const Ready& ready);
  // The state machine's own snapshot (Raft::Compact): the stored entries it
  // covers go once it is written.
  void WriteSnapshot(const Snapshot& snapshot);
  void Sync();
  // Returns how many writes were lost.
  size_t Crash(Rng& rng);
  Persisted Load() const;
  size_t unsynced() const { return pending_.size(); }
  // Empty, or what was wrong with a write (an entry leaving a gap).
  const std::string& error() const { return error_; }

 private:
  struct Op {
    enum class Kind { kHardState, kInstall, kCompact, kEntry } kind = Kind::kEntry;
    HardState hard_state;
    Snapshot snapshot;
    Entry entry;
  };
  Op& Queue(Op::Kind kind);  // a new pending write of that kind
  void Apply(const Op& op);
  void Put(const Entry& e);

  HardState hard_state_;
  Snapshot snapshot_;
  std::vector<Entry> entries_;  // after snapshot_
  std::vector<Op> pending_;
  std::string error_;
};

}  // namespace warren::raft::sim
