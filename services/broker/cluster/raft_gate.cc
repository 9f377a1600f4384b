#include "broker/cluster/raft_gate.h"

#include <utility>

#include "amqp/constants.h"
#include "broker/cluster/command_codec.h"
#include "broker/core/errors.h"

namespace warren::cluster {
namespace {

ForwardResult Refused(Error error) { return ForwardResult{core::Outcome{std::move(error)}, 0, 0}; }

}  // namespace

RaftGate::RaftGate(Runtime& runtime, RaftDriver& driver, MetadataMachine& machine,
                   Forwarder& forwarder, int64_t timeout_ms)
    : runtime_(runtime), driver_(driver), machine_(machine), forwarder_(forwarder),
      timeout_ms_(timeout_ms) {}

RaftGate::~RaftGate() {
  stopping_ = true;  // a client answered below that submits again is refused at once
  alive_.reset();
  if (leader_poll_ != 0) runtime_.Cancel(leader_poll_);
  while (!calls_.empty()) Answer(calls_.begin()->first, Refused(NotCommitted("the node is stopping")));
}

void RaftGate::Submit(core::Command command, Done done) {
  core::PlaceNewQueue(machine_.broker(), command);
  uint64_t id = Open([done = std::move(done)](ForwardResult r) { done(r.outcome); });
  if (stopping_) {
    Answer(id, Refused(NotCommitted("the node is stopping")));
    return;
  }
  std::string bytes = EncodeCommand(command);
  // Encoding cannot fail, but what does not decode could be applied nowhere:
  // a name or table past the codec's bounds, which the model refuses too.
  if (Result<core::Command> c = DecodeCommand(bytes); !c.ok()) {
    Answer(id, Refused(core::AmqpError(amqp::ReplyCode::kPreconditionFailed,
                                       "the change cannot be replicated: " + c.error().text)));
    return;
  }
  if (!Dispatch(id, bytes)) AwaitLeader(id, std::move(bytes));
}

void RaftGate::Barrier(std::function<void()> done) {
  uint64_t id = Open([done = std::move(done)](ForwardResult) { done(); });
  if (stopping_) {
    Answer(id, Refused(NotCommitted("the node is stopping")));
    return;
  }
  std::string none;  // a barrier: no command
  if (!Dispatch(id, none)) AwaitLeader(id, std::move(none));
}

void RaftGate::LeaderBarrier(uint64_t id) {
  raft::Index index = driver_.raft().commit_index();
  ForwardResult at{core::Outcome{}, index, driver_.raft().term()};
  if (machine_.applied_index() >= index) {
    Answer(id, std::move(at));
    return;
  }
  calls_[id].wait =
      machine_.WhenApplied(index, [this, id, at]() mutable { Answer(id, std::move(at)); });
}

bool RaftGate::Dispatch(uint64_t id, std::string& command) {
  const raft::Raft& raft = driver_.raft();
  if (raft.role() == raft::Role::kLeader) {
    if (command.empty()) {
      LeaderBarrier(id);
      return true;
    }
    // The driver's proposal timeout bounds it from here, with its own text.
    if (auto it = calls_.find(id); it != calls_.end() && it->second.timer != 0) {
      runtime_.Cancel(it->second.timer);
      it->second.timer = 0;
    }
    Propose(id, std::move(command));
    return true;
  }
  if (raft.leader() == raft::kNoNode || raft.leader() == raft.id()) return false;
  if (auto it = calls_.find(id); it != calls_.end() && it->second.unreachable == raft.leader() &&
                                 runtime_.NowMs() - it->second.unreachable_at_ms < kRetryUnreachedMs)
    return false;  // the leader that could not be reached a moment ago: not yet again
  Forward(id, raft.leader(), std::move(command));
  return true;
}

void RaftGate::AwaitLeader(uint64_t id, std::string command) {
  calls_[id].timer = runtime_.ScheduleAfter(timeout_ms_, [this, id] { TimedOut(id); });
  awaiting_leader_[id] = std::move(command);
  if (leader_poll_ == 0)
    leader_poll_ = runtime_.ScheduleAfter(kLeaderPollMs, [this] { PollLeader(); });
}

void RaftGate::PollLeader() {
  leader_poll_ = 0;
  std::map<uint64_t, std::string> waiting = std::move(awaiting_leader_);
  awaiting_leader_.clear();
  for (auto& [id, command] : waiting) {
    if (!calls_.count(id)) continue;
    // The call's deadline (its timer) holds through every dispatch.
    if (!Dispatch(id, command)) awaiting_leader_[id] = std::move(command);
  }
  if (!awaiting_leader_.empty())
    leader_poll_ = runtime_.ScheduleAfter(kLeaderPollMs, [this] { PollLeader(); });
}

void RaftGate::ProposeForPeer(std::string command, std::function<void(ForwardResult)> reply) {
  uint64_t id = Open(std::move(reply));
  if (stopping_) {
    Answer(id, Refused(NotCommitted("the node is stopping")));
    return;
  }
  if (command.empty()) {  // a follower's barrier
    if (driver_.raft().role() == raft::Role::kLeader)
      LeaderBarrier(id);
    else
      Answer(id, Refused(NotCommitted("this node does not lead")));
    return;
  }
  // Junk stays out of the log, though it comes from a peer holding the secret.
  if (Result<core::Command> c = DecodeCommand(command); !c.ok()) {
    Answer(id, Refused(NotCommitted("the leader cannot decode it: " + c.error().text)));
    return;
  }
  // The follower waits for its own apply of the entry all the same: told
  // where it is now, it needs no answer after the commit.
  if (std::optional<raft::Proposal> at = Propose(id, std::move(command))) {
    ForwardResult appended{core::Outcome{}, at->index, at->term};
    appended.appended = true;
    Answer(id, std::move(appended));
  }
}

uint64_t RaftGate::Open(Reply reply) {
  uint64_t id = ++last_call_;
  calls_[id].reply = std::move(reply);
  return id;
}

void RaftGate::Answer(uint64_t id, ForwardResult result) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;  // answered already (a timeout, then a late answer)
  Call call = std::move(it->second);
  calls_.erase(it);
  if (call.timer != 0) runtime_.Cancel(call.timer);
  if (call.wait) machine_.CancelWait(*call.wait);
  call.reply(std::move(result));
}

// The driver answers once the entry is applied here, right after the
// machine computed its outcome, or with 504 (its own proposal timeout).
std::optional<raft::Proposal> RaftGate::Propose(uint64_t id, std::string command) {
  std::weak_ptr<bool> alive = alive_;
  return driver_.Propose(std::move(command), [this, alive, id](Status s, raft::Proposal at) {
    if (alive.expired()) return;
    if (!s.ok()) {
      Answer(id, Refused(s.error()));
      return;
    }
    std::optional<core::Outcome> outcome = machine_.OutcomeAt(at.index, at.term);
    if (!outcome) {  // cannot happen: the driver answers right after the apply
      Answer(id, Refused(NotCommitted("the outcome of entry " + std::to_string(at.index) +
                                      " is no longer known")));
      return;
    }
    Answer(id, ForwardResult{std::move(*outcome), at.index, at.term});
  });
}

void RaftGate::Forward(uint64_t id, raft::NodeId leader, std::string command) {
  Call& call = calls_[id];
  call.leader = leader;
  if (call.timer == 0)  // else the first dispatch's deadline still holds
    call.timer = runtime_.ScheduleAfter(timeout_ms_, [this, id] { TimedOut(id); });
  call.command = command;  // kept, to send again if the leader cannot be reached
  std::weak_ptr<bool> alive = alive_;
  forwarder_.Forward(leader, std::move(command), [this, alive, id](ForwardResult r) {
    if (!alive.expired()) OnForwarded(id, std::move(r));
  });
}

void RaftGate::OnForwarded(uint64_t id, ForwardResult result) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  if (result.unreached) {
    // A leader that is gone (killed, or its node stopped): the change waits
    // for the next one within the same deadline, as with no leader known.
    it->second.unreachable = it->second.leader;
    it->second.unreachable_at_ms = runtime_.NowMs();
    awaiting_leader_[id] = std::move(it->second.command);
    if (leader_poll_ == 0)
      leader_poll_ = runtime_.ScheduleAfter(kLeaderPollMs, [this] { PollLeader(); });
    return;
  }
  it->second.command.clear();
  if (result.index == 0) {
    Answer(id, std::move(result));
    return;
  }
  raft::Proposal at{result.index, result.term};
  it->second.appended_at = at.index;
  std::function<void()> answer;
  if (result.appended)
    answer = [this, id, at] { AnswerApplied(id, at); };
  else  // a leader that answered after its own apply, with the outcome
    answer = [this, id, r = std::move(result)]() mutable { Answer(id, std::move(r)); };
  if (machine_.applied_index() >= at.index) {
    answer();
    return;
  }
  it->second.wait = machine_.WhenApplied(at.index, std::move(answer));
}

void RaftGate::AnswerApplied(uint64_t id, raft::Proposal at) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  std::optional<core::Outcome> outcome = machine_.OutcomeAt(at.index, at.term);
  if (!outcome) {
    Answer(id, Refused(NotCommitted(
                   "the leader (node " + std::to_string(it->second.leader) +
                   ") appended it at index " + std::to_string(at.index) +
                   ", but this node applied another entry there (a new leader's) or no longer "
                   "knows its outcome; retry")));
    return;
  }
  Answer(id, ForwardResult{std::move(*outcome), at.index, at.term});
}

void RaftGate::TimedOut(uint64_t id) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  Call& call = it->second;
  call.timer = 0;
  std::string ms = std::to_string(timeout_ms_);
  if (awaiting_leader_.erase(id) > 0) {
    std::string why = call.unreachable != raft::kNoNode
                          ? "the leader (node " + std::to_string(call.unreachable) +
                                ") could not be reached and no other was elected within " + ms +
                                " ms; retry"
                          : "no leader was elected within " + ms + " ms; retry";
    Answer(id, Refused(NotCommitted(why)));
    return;
  }
  std::string leader = "the leader (node " + std::to_string(call.leader) + ")";
  if (call.appended_at == 0) {
    Answer(id, Refused(NotCommitted("no answer from " + leader + " within " + ms + " ms")));
    return;
  }
  Answer(id, Refused(Error{kNotCommitted, "metadata change not confirmed: " + leader +
                                              " appended it at index " +
                                              std::to_string(call.appended_at) +
                                              ", but this node had not applied it within " + ms +
                                              " ms"}));
}

}  // namespace warren::cluster
