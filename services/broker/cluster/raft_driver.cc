#include "broker/cluster/raft_driver.h"

#include <utility>

#include <spdlog/spdlog.h>

#include "broker/cluster/raft_storage.h"
#include "raft/codec.h"

namespace warren::cluster {
namespace {

Error NotCommitted(const std::string& why) {
  return Error{kNotCommitted, "the cluster did not commit the change: " + why};
}

}  // namespace

RaftDriver::RaftDriver(Runtime& runtime, RaftStorage& storage, Transport& transport,
                       StateMachine& machine, DriverOptions options, raft::Persisted persisted)
    : runtime_(runtime), storage_(storage), transport_(transport), machine_(machine),
      options_(std::move(options)), raft_(options_.raft, persisted) {
  if (persisted.snapshot.meta.index > 0) machine_.Restore(persisted.snapshot);
}

RaftDriver::~RaftDriver() {
  runtime_.Cancel(tick_timer_);
  for (auto& [index, p] : pending_) runtime_.Cancel(p.timer);
}

void RaftDriver::Start() {
  tick_timer_ = runtime_.ScheduleAfter(options_.tick_ms, [this] { Tick(); });
}

void RaftDriver::Tick() {
  raft_.Tick();
  Process();
  tick_timer_ = runtime_.ScheduleAfter(options_.tick_ms, [this] { Tick(); });
}

void RaftDriver::Receive(std::string_view bytes) {
  Result<raft::Message> m = raft::DecodeMessage(bytes);
  if (!m.ok()) {
    spdlog::warn("cluster: dropped a Raft message that does not decode: {}", m.error().text);
    return;
  }
  raft_.Step(std::move(m.value()));
  Process();
}

void RaftDriver::Propose(std::string command, Done done) {
  Result<raft::Proposal> p = raft_.Propose(std::move(command));
  if (!p.ok()) {
    done(NotCommitted(p.error().text));
    return;
  }
  raft::Index index = p->index;
  TimerId timer = runtime_.ScheduleAfter(options_.proposal_timeout_ms, [this, index] {
    Resolve(index, NotCommitted("no majority answered in time"));
  });
  pending_[index] = Pending{p->term, std::move(done), timer};
  Process();
}

void RaftDriver::Resolve(raft::Index index, Status status) {
  auto it = pending_.find(index);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  runtime_.Cancel(p.timer);
  p.done(status);
}

void RaftDriver::Process() {
  if (processing_ || failed_) return;  // re-entered from a callback: the loop below goes on
  processing_ = true;
  while (raft_.HasReady()) {
    raft::Ready ready = raft_.TakeReady();
    // 1. Durable before anything that relies on it is sent.
    if (Status s = storage_.Save(ready); !s.ok()) {
      failed_ = true;
      processing_ = false;
      if (options_.on_fatal) options_.on_fatal(s.error().text);
      return;
    }
    // 2. Send.
    for (const raft::Message& m : ready.messages) transport_.Send(m.to, raft::EncodeMessage(m));
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
  }
  processing_ = false;
}

}  // namespace warren::cluster
