#include "broker/cluster/raft_driver.h"

#include <algorithm>
#include <utility>
#include <variant>

#include <spdlog/spdlog.h>

#include "broker/cluster/raft_storage.h"
#include "raft/codec.h"

namespace warren::cluster {

Error NotCommitted(const std::string& why) {
  return Error{kNotCommitted, "metadata change not committed: " + why};
}

RaftDriver::RaftDriver(Runtime& runtime, RaftStorage& storage, Transport& transport,
                       StateMachine& machine, DriverOptions options, raft::Persisted persisted)
    : runtime_(runtime), storage_(storage), transport_(transport), machine_(machine),
      options_(std::move(options)), raft_(options_.raft, persisted) {
  if (persisted.snapshot.meta.index > 0) machine_.Restore(persisted.snapshot);
}

RaftDriver::~RaftDriver() {
  stopping_ = true;  // a Done that proposes again is refused at once
  runtime_.Cancel(tick_timer_);
  runtime_.Cancel(process_timer_);
  while (!pending_.empty())
    Resolve(pending_.begin()->first, NotCommitted("the node is stopping"));
}

void RaftDriver::Start() {
  tick_timer_ = runtime_.ScheduleAfter(options_.tick_ms, [this] { Tick(); });
}

void RaftDriver::Tick() {
  raft_.Tick();
  Process();
  tick_timer_ = runtime_.ScheduleAfter(options_.tick_ms, [this] { Tick(); });
  if (options_.on_tick) options_.on_tick();
}

void RaftDriver::Receive(std::string_view bytes) {
  Step(bytes);
  Process();
}

void RaftDriver::Receive(const std::vector<std::string>& batch) {
  for (const std::string& bytes : batch) Step(bytes);
  Process();
}

void RaftDriver::Step(std::string_view bytes) {
  Result<raft::Message> m = raft::DecodeMessage(bytes);
  if (!m.ok()) {
    spdlog::warn("cluster: dropped a Raft message that does not decode: {}", m.error().text);
    return;
  }
  raft_.Step(std::move(m.value()));
}

std::optional<raft::Proposal> RaftDriver::Propose(std::string command, Done done) {
  if (stopping_ || failed_) {
    done(NotCommitted("the node is stopping"), {});
    return std::nullopt;
  }
  return Track(raft_.Propose(std::move(command)), std::move(done));
}

void RaftDriver::ProposeMembership(raft::MembershipChange change, Done done) {
  if (stopping_ || failed_) {
    done(NotCommitted("the node is stopping"), {});
    return;
  }
  Track(raft_.ProposeMembership(std::move(change)), std::move(done));
}

std::optional<raft::Proposal> RaftDriver::Track(Result<raft::Proposal> p, Done done) {
  if (!p.ok()) {
    done(NotCommitted(p.error().text), {});
    return std::nullopt;
  }
  raft::Index index = p->index;
  TimerId timer = runtime_.ScheduleAfter(options_.proposal_timeout_ms, [this, index] {
    Resolve(index, NotCommitted("no majority answered in time"));
  });
  pending_[index] = Pending{p->term, std::move(done), timer};
  // After what else this loop turn brings: the proposals of one turn, from
  // every client, share one save and one append per follower.
  if (process_timer_ == 0) {
    process_timer_ = runtime_.ScheduleAfter(0, [this] {
      process_timer_ = 0;
      Process();
    });
  }
  return p.value();
}

void RaftDriver::Resolve(raft::Index index, Status status) {
  auto it = pending_.find(index);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  runtime_.Cancel(p.timer);
  p.done(status, raft::Proposal{index, p.term});
}

void RaftDriver::Fail(const Status& status) {
  failed_ = true;
  if (options_.on_fatal) options_.on_fatal(status.error().text);
}

// After Advance, so everything applied is acknowledged (Raft::Compact needs
// that). A compaction the core refuses (a snapshot past its bound) is
// logged and tried again compact_every entries later.
void RaftDriver::MaybeCompact() {
  if (options_.compact_every == 0) return;
  raft::Index applied = raft_.log().applied();
  raft::Index since = std::max(raft_.log().snapshot().index, compact_tried_at_);
  if (applied < since + options_.compact_every) return;
  Result<raft::SnapshotMeta> meta = raft_.Compact(applied, machine_.TakeSnapshot());
  if (!meta.ok()) {
    compact_tried_at_ = applied;
    spdlog::error("cluster: the Raft log was not compacted at index {}: {}", applied,
                  meta.error().text);
    return;
  }
  if (Status s = storage_.SaveCompaction(raft_.snapshot()); !s.ok()) Fail(s);
}

void RaftDriver::NoteLeader() {
  raft::NodeId leader = raft_.leader();
  if (leader == logged_leader_ && raft_.term() == logged_term_) return;
  if (leader == raft::kNoNode) return;  // an election: logged once it has a winner
  logged_leader_ = leader;
  logged_term_ = raft_.term();
  spdlog::info("cluster: member {} leads the metadata in term {}{}", leader, logged_term_,
               leader == raft_.id() ? " (this node)" : "");
}

void RaftDriver::NoteConfig() {
  if (raft_.config() == seen_config_) return;
  seen_config_ = raft_.config();
  if (options_.on_config) options_.on_config(seen_config_);
}

void RaftDriver::Process() {
  if (processing_ || failed_) return;  // re-entered from a callback: the loop below goes on
  processing_ = true;
  while (raft_.HasReady()) {
    raft::Ready ready = raft_.TakeReady();
    // 1. A leader's appends go out before its own write, so its followers
    //    write while it does (docs/cluster.md, "The Raft driver").
    bool leading = raft_.role() == raft::Role::kLeader;
    auto early = [leading](const raft::Message& m) {
      return leading && (std::holds_alternative<raft::AppendEntries>(m.body) ||
                         std::holds_alternative<raft::InstallSnapshot>(m.body));
    };
    for (const raft::Message& m : ready.messages)
      if (early(m)) transport_.Send(m.to, raft::EncodeMessage(m));
    // 2. Durable before anything that relies on it is sent.
    if (Status s = storage_.Save(ready); !s.ok()) {
      processing_ = false;
      Fail(s);
      return;
    }
    for (const raft::Message& m : ready.messages)
      if (!early(m)) transport_.Send(m.to, raft::EncodeMessage(m));
    // 3. Restore, apply, answer.
    if (ready.snapshot) {
      machine_.Restore(*ready.snapshot);
      // Proposals the snapshot covers are answered by what it holds: not
      // knowable entry by entry, so as not committed (a retry is safe).
      while (!pending_.empty() && pending_.begin()->first <= ready.snapshot->meta.index)
        Resolve(pending_.begin()->first, NotCommitted("replaced by the leader's snapshot"));
    }
    for (const raft::Entry& e : ready.committed) {
      machine_.Apply(e);
      auto it = pending_.find(e.index);
      if (it == pending_.end()) continue;
      Resolve(e.index, it->second.term == e.term
                           ? Status::Ok()
                           : Status(NotCommitted("a new leader replaced the entry")));
    }
    raft_.Advance();
    NoteLeader();
    NoteConfig();
    MaybeCompact();
    if (failed_) break;
  }
  processing_ = false;
}

}  // namespace warren::cluster
