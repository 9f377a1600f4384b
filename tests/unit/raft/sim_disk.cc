#include "sim_disk.h"

#include <algorithm>

namespace warren::raft::sim {

void SimDisk::Format(const Persisted& initial) {
  hard_state_ = initial.hard_state;
  snapshot_ = initial.snapshot;
  entries_ = initial.entries;
  pending_.clear();
}

void SimDisk::Write(const Ready& ready) {
  if (ready.hard_state) Queue(Op::Kind::kHardState).hard_state = *ready.hard_state;
  if (ready.snapshot) Queue(Op::Kind::kInstall).snapshot = *ready.snapshot;
  for (const Entry& e : ready.entries) Queue(Op::Kind::kEntry).entry = e;
}

void SimDisk::WriteSnapshot(const Snapshot& snapshot) {
  Queue(Op::Kind::kCompact).snapshot = snapshot;
}

SimDisk::Op& SimDisk::Queue(Op::Kind kind) {
  pending_.emplace_back();
  pending_.back().kind = kind;
  return pending_.back();
}

void SimDisk::Sync() {
  for (const Op& op : pending_) Apply(op);
  pending_.clear();
}

size_t SimDisk::Crash(Rng& rng) {
  size_t reached = rng.Below(pending_.size() + 1);
  for (size_t i = 0; i < reached; ++i) Apply(pending_[i]);
  size_t lost = pending_.size() - reached;
  pending_.clear();
  return lost;
}

Persisted SimDisk::Load() const { return Persisted{hard_state_, snapshot_, entries_}; }

void SimDisk::Apply(const Op& op) {
  switch (op.kind) {
    case Op::Kind::kHardState:
      hard_state_ = op.hard_state;
      break;
    case Op::Kind::kInstall:
      snapshot_ = op.snapshot;
      entries_.clear();
      break;
    case Op::Kind::kCompact:
      if (op.snapshot.meta.index <= snapshot_.meta.index) break;
      snapshot_ = op.snapshot;
      std::erase_if(entries_, [&](const Entry& e) { return e.index <= snapshot_.meta.index; });
      break;
    case Op::Kind::kEntry:
      Put(op.entry);
      break;
  }
}

// An entry replaces the stored one at its index and everything after it.
void SimDisk::Put(const Entry& e) {
  if (e.index <= snapshot_.meta.index) return;
  std::erase_if(entries_, [&](const Entry& stored) { return stored.index >= e.index; });
  Index expected = entries_.empty() ? snapshot_.meta.index + 1 : entries_.back().index + 1;
  if (e.index != expected && error_.empty()) {
    error_ = "disk: entry " + std::to_string(e.index) + " written after " +
             std::to_string(expected - 1) + ", leaving a gap";
  }
  entries_.push_back(e);
}

}  // namespace warren::raft::sim
