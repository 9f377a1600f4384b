// Membership: single-server changes (Raft dissertation §4.1). Each change
// adds a learner, promotes a learner that has caught up, or removes one
// member; any two majorities of consecutive configurations overlap, so no
// joint consensus is needed. A change takes effect on every node as soon as
// its entry is in the log, and the leader allows a new one only once the
// last is committed and it has committed an entry of its own term (the fix
// of the dissertation's erratum). A leader that removes itself keeps leading
// without counting itself until the change commits, then hands over.
// Leadership transfer (§3.10) is here too.
#include <algorithm>
#include <string>

#include "raft/codec.h"
#include "raft/errors.h"
#include "raft/raft.h"

namespace warren::raft {

namespace {

void Insert(std::vector<NodeId>& ids, NodeId id) {
  ids.insert(std::lower_bound(ids.begin(), ids.end(), id), id);
}

void Erase(std::vector<NodeId>& ids, NodeId id) {
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
}

Error Invalid(const std::string& text) { return RaftError(Errc::kInvalidMembershipChange, text); }

}  // namespace

// The configuration changed with the log (an append, a truncation, a
// snapshot): a leader starts or stops replicating to the members concerned.
void Raft::OnLogChanged() {
  if (log_.config() == config_) return;
  config_ = log_.config();
  if (role_ == Role::kLeader) ResetProgress();
  if (transfer_to_ != kNoNode && !config_.IsVoter(transfer_to_)) transfer_to_ = kNoNode;
}

// Keeps the progress of every member still there; a new one is probed from
// the end of our log.
void Raft::ResetProgress() {
  std::vector<Progress> next;
  auto keep = [&](NodeId member) {
    if (member == id()) return;
    const Progress* pr = FindProgress(member);
    next.push_back(pr != nullptr ? *pr : Progress{.id = member, .next = log_.last_index() + 1});
  };
  for (NodeId v : config().voters) keep(v);
  for (NodeId l : config().learners) keep(l);
  progress_ = std::move(next);
}

Result<Proposal> Raft::ProposeMembership(MembershipChange change) {
  if (Status s = CanPropose(); !s.ok()) return s;
  if (log_.config_index() > log_.committed()) {
    return RaftError(Errc::kMembershipChangePending, "the last membership change is not committed");
  }
  if (log_.committed() < term_start_) {
    return RaftError(Errc::kMembershipChangePending,
                     "the new leader has not committed an entry of its term yet");
  }
  Result<Configuration> next = NextConfig(change);
  if (!next.ok()) return next.status();
  Index index = log_.Append(term_, EntryType::kMembership, EncodeConfiguration(next.value()));
  OnLogChanged();
  BroadcastAppend(/*heartbeat=*/false);
  MaybeCommit();  // a smaller quorum may already hold earlier entries
  return Proposal{index, term_};
}

Result<Configuration> Raft::NextConfig(const MembershipChange& change) const {
  Configuration c = config();
  NodeId n = change.node;
  std::string node = "node " + std::to_string(n);
  switch (change.kind) {
    case MembershipChange::Kind::kAddLearner:
      if (n == kNoNode || c.Contains(n)) return Invalid(node + " is already a member");
      if (n < c.NextId()) return Invalid(node + " was a member before: ids are never reused");
      if (c.voters.size() + c.learners.size() >= kMaxMembers) return Invalid("too many members");
      if (change.address.size() > kMaxAddressBytes) return Invalid(node + ": address too long");
      Insert(c.learners, n);
      c.highest = n;
      if (!change.address.empty()) c.addresses[n] = change.address;
      break;
    case MembershipChange::Kind::kPromote: {
      if (!c.IsLearner(n)) return Invalid(node + " is not a learner");
      Index match = MatchIndex(n).value_or(0);
      if (match < log_.committed()) {
        return Invalid(node + " has not caught up (at " + std::to_string(match) + " of " +
                       std::to_string(log_.committed()) + ")");
      }
      Erase(c.learners, n);
      Insert(c.voters, n);
      break;
    }
    case MembershipChange::Kind::kRemove:
      if (!c.Contains(n)) return Invalid(node + " is not a member");
      if (c.IsVoter(n) && c.voters.size() == 1) return Invalid(node + " is the last voter");
      Erase(c.voters, n);
      Erase(c.learners, n);
      c.addresses.erase(n);
      break;
  }
  return c;
}

// Once the configuration without us commits, a leader hands leadership to a
// voter that has the whole log, if one has, and steps down.
void Raft::LeaveIfRemoved() {
  if (role_ != Role::kLeader || config().IsVoter(id())) return;
  if (log_.committed() < log_.config_index()) return;
  for (const Progress& pr : progress_) {
    if (config().IsVoter(pr.id) && pr.match == log_.last_index()) {
      SendTimeoutNow(pr.id);
      break;
    }
  }
  BecomeFollower(term_, kNoNode);
}

Status Raft::TransferLeadership(NodeId to) {
  if (Status s = CanPropose(); !s.ok()) return s;
  if (to == id() || !config().IsVoter(to)) {
    return RaftError(Errc::kInvalidArgument, "node " + std::to_string(to) + " cannot take over");
  }
  transfer_to_ = to;
  transfer_elapsed_ = 0;
  Progress* pr = FindProgress(to);
  if (pr->match == log_.last_index()) {
    SendTimeoutNow(to);
  } else {
    SendAppend(*pr, /*heartbeat=*/false);  // TimeoutNow follows once it has caught up
  }
  return Status::Ok();
}

// The target campaigns at once and voters answer it even while they hear
// from us, so from now on this term's lease cannot be trusted.
void Raft::SendTimeoutNow(NodeId to) {
  lease_forfeited_ = true;
  Send(to, TimeoutNow{});
}

}  // namespace warren::raft
