// The cluster's metadata as a Raft state machine (docs/cluster.md,
// "Metadata through the log"): each committed command entry is decoded
// (command_codec.h) and applied to the node's Broker with core::Apply, in
// log order, on every node alike; a snapshot is the whole metadata as
// commands (metadata_snapshot.h).
//
// - An entry that does not decode is logged with its index and skipped. Every
//   node holds the same bytes at that index, so every node skips it: the
//   brokers stay alike and nothing crashes on a bad entry.
// - No-op and membership entries only move the applied index.
// - The Outcome of each command entry is kept for the last kKeptOutcomes
//   entries. Its proposer reads it when the driver answers the proposal,
//   which is right after that entry is applied and before the next one is,
//   so only the latest is ever needed; the few kept are margin, and memory
//   stays bounded however long the log.
// - WhenApplied lets a caller wait for "applied >= i" (a follower answering
//   its client only once its own broker shows the change).
// - A snapshot that does not decode is refused, with a clear error, and the
//   broker is left as it was; it never crashes the node. The applied index
//   still moves to the snapshot's (the log has moved past it), and the log
//   says the node's metadata may now differ from the cluster's.
//
// Lifecycle: one per node, over the node's Broker, which outlives it; every
// call on the node's loop. Waiters still registered when it goes are
// dropped without being called (their owner, the gate, answers for them).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "broker/cluster/raft_driver.h"
#include "broker/core/command.h"
#include "common/status.h"
#include "raft/types.h"

namespace warren::core {
class Broker;
}

namespace warren::cluster {

class MetadataMachine final : public StateMachine {
 public:
  static constexpr size_t kKeptOutcomes = 64;

  explicit MetadataMachine(core::Broker& broker);
  ~MetadataMachine() override;
  MetadataMachine(const MetadataMachine&) = delete;
  MetadataMachine& operator=(const MetadataMachine&) = delete;

  // StateMachine.
  void Apply(const raft::Entry& entry) override;
  // At a restart: the broker, read back from the store, already holds the
  // effects of every entry through `index` (Persistence::metadata_applied),
  // so those entries, and a snapshot no newer, only move the applied index.
  // After each command it applies, the machine records its index in the
  // store, in order with the definitions the command changed.
  void SkipThrough(raft::Index index);
  void Restore(const raft::Snapshot& snapshot) override;  // logs a refused one
  std::string TakeSnapshot() const override;

  // Makes the broker's metadata exactly that of `data`; a snapshot that does
  // not decode is refused, changing nothing.
  Status RestoreSnapshot(std::string_view data);

  raft::Index applied_index() const { return applied_; }
  core::Broker& broker() { return broker_; }
  // The outcome of the command entry at `index`, while it is kept; with
  // `term`, only if that entry is of that term (not one a new leader put
  // there instead).
  std::optional<core::Outcome> OutcomeAt(raft::Index index) const;
  std::optional<core::Outcome> OutcomeAt(raft::Index index, raft::Term term) const;

  using WaitId = uint64_t;
  // Runs `fn` once applied_index() >= index: at once when it already is,
  // else as entries or a snapshot are applied, in index order (and in the
  // order asked for one index).
  WaitId WhenApplied(raft::Index index, std::function<void()> fn);
  void CancelWait(WaitId id);  // no-op once it ran
  size_t waiting() const { return waiters_.size(); }

 private:
  void AppliedTo(raft::Index index);

  core::Broker& broker_;
  raft::Index applied_ = 0;
  raft::Index skip_through_ = 0;  // SkipThrough
  struct Kept {
    raft::Index index;
    raft::Term term;
    core::Outcome outcome;
  };
  std::deque<Kept> outcomes_;  // the latest last
  std::map<std::pair<raft::Index, WaitId>, std::function<void()>> waiters_;
  std::unordered_map<WaitId, raft::Index> waiting_for_;
  WaitId last_wait_ = 0;
};

}  // namespace warren::cluster
