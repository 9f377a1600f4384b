#include "broker/cluster/metadata_machine.h"

#include <spdlog/spdlog.h>

#include "amqp/constants.h"
#include "broker/cluster/command_codec.h"
#include "broker/cluster/metadata_snapshot.h"
#include "broker/core/broker.h"
#include "broker/core/errors.h"
#include "common/text.h"

namespace warren::cluster {

MetadataMachine::MetadataMachine(core::Broker& broker) : broker_(broker) {}

MetadataMachine::~MetadataMachine() = default;

void MetadataMachine::SkipThrough(raft::Index index) { skip_through_ = index; }

void MetadataMachine::Apply(const raft::Entry& entry) {
  if (entry.index <= skip_through_) {
    // The broker came back from the store with this entry's effects.
    AppliedTo(entry.index);
    return;
  }
  if (entry.type == raft::EntryType::kCommand) {
    core::Outcome outcome;
    Result<core::Command> command = DecodeCommand(entry.payload);
    if (command.ok()) {
      outcome = core::Apply(broker_, command.value());
    } else {
      spdlog::error("cluster: log entry {} is not a metadata command this node understands; "
                    "skipped: {}",
                    entry.index, LogSafe(command.error().text, 1024));
      outcome.status = core::AmqpError(
          amqp::ReplyCode::kNotImplemented,
          "log entry " + std::to_string(entry.index) + " is not a metadata command: " +
              command.error().text);
    }
    outcomes_.push_back(Kept{entry.index, entry.term, std::move(outcome)});
    if (outcomes_.size() > kKeptOutcomes) outcomes_.pop_front();
    // After the definitions it changed, in the same file and order.
    if (core::Persistence* store = broker_.definitions()) store->PutMetadataApplied(entry.index);
  }
  AppliedTo(entry.index);
}

void MetadataMachine::Restore(const raft::Snapshot& snapshot) {
  if (snapshot.meta.index <= skip_through_) {
    // The store's definitions are as new as the snapshot, or newer.
    AppliedTo(snapshot.meta.index);
    return;
  }
  if (Status s = RestoreSnapshot(snapshot.data); !s.ok())
    spdlog::error("cluster: refused the snapshot at index {}; this node's metadata stays as it "
                  "was and may differ from the cluster's: {}",
                  snapshot.meta.index, LogSafe(s.error().text, 1024));
  // Outcomes before the snapshot are no longer known entry by entry.
  outcomes_.clear();
  if (core::Persistence* store = broker_.definitions())
    store->PutMetadataApplied(snapshot.meta.index);
  AppliedTo(snapshot.meta.index);
}

Status MetadataMachine::RestoreSnapshot(std::string_view data) {
  Result<std::vector<core::Command>> commands = DecodeSnapshot(data);
  if (!commands.ok()) return commands.status();
  if (size_t refused = ReconcileMetadata(broker_, commands.value()); refused > 0)
    spdlog::error("cluster: {} of the snapshot's {} definitions were refused by this node",
                  refused, commands->size());
  return Status::Ok();
}

std::string MetadataMachine::TakeSnapshot() const {
  return EncodeSnapshot(DescribeMetadata(broker_));
}

std::optional<core::Outcome> MetadataMachine::OutcomeAt(raft::Index index) const {
  for (auto it = outcomes_.rbegin(); it != outcomes_.rend(); ++it)
    if (it->index == index) return it->outcome;
  return std::nullopt;
}

std::optional<core::Outcome> MetadataMachine::OutcomeAt(raft::Index index, raft::Term term) const {
  for (auto it = outcomes_.rbegin(); it != outcomes_.rend(); ++it)
    if (it->index == index) return it->term == term ? std::optional(it->outcome) : std::nullopt;
  return std::nullopt;
}

MetadataMachine::WaitId MetadataMachine::WhenApplied(raft::Index index, std::function<void()> fn) {
  WaitId id = ++last_wait_;
  if (applied_ >= index) {
    fn();
    return id;
  }
  waiters_.emplace(std::pair{index, id}, std::move(fn));
  waiting_for_[id] = index;
  return id;
}

void MetadataMachine::CancelWait(WaitId id) {
  auto it = waiting_for_.find(id);
  if (it == waiting_for_.end()) return;
  waiters_.erase({it->second, id});
  waiting_for_.erase(it);
}

void MetadataMachine::AppliedTo(raft::Index index) {
  applied_ = index;
  // A waiter may wait or cancel again: take them one at a time.
  while (!waiters_.empty() && waiters_.begin()->first.first <= applied_) {
    auto it = waiters_.begin();
    std::function<void()> fn = std::move(it->second);
    waiting_for_.erase(it->first.second);
    waiters_.erase(it);
    fn();
  }
}

}  // namespace warren::cluster
