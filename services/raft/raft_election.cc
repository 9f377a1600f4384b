// Elections: a voter whose election timer runs out first asks for pre-votes
// in the term it would campaign in (dissertation §9.6), changing nothing;
// only with a quorum of them does it raise its term and ask for real votes
// (Raft §5.2). A node cut off from the cluster thus never raises its term,
// and cannot depose a healthy leader when it comes back.
#include <algorithm>

#include "raft/raft.h"

namespace warren::raft {

void Raft::StartPreVote() {
  role_ = Role::kPreCandidate;
  leader_ = kNoNode;
  votes_.clear();
  ResetElectionTimer();
  RequestVotes(/*pre_vote=*/true, /*transfer=*/false);
}

void Raft::Campaign(bool transfer) {
  ++term_;
  vote_ = id();
  role_ = Role::kCandidate;
  leader_ = kNoNode;
  votes_.clear();
  ResetElectionTimer();
  RequestVotes(/*pre_vote=*/false, transfer);
}

void Raft::RequestVotes(bool pre_vote, bool transfer) {
  votes_.emplace_back(id(), true);
  Term term = pre_vote ? term_ + 1 : term_;
  for (NodeId voter : config().voters) {
    if (voter == id()) continue;
    Send(voter, term, VoteRequest{pre_vote, transfer, log_.last_index(), log_.last_term()});
  }
  CountVotes();  // a lone voter wins at once
}

void Raft::CountVotes() {
  size_t granted = 0;
  size_t refused = 0;
  for (const auto& [voter, yes] : votes_) {
    if (config().IsVoter(voter)) ++(yes ? granted : refused);
  }
  size_t quorum = config().Quorum();
  if (granted >= quorum) {
    if (role_ == Role::kPreCandidate) {
      Campaign(/*transfer=*/false);
    } else {
      BecomeLeader();
    }
  } else if (refused > config().voters.size() - quorum) {
    BecomeFollower(term_, kNoNode);
  }
}

void Raft::HandleVoteRequest(const Message& m, const VoteRequest& req) {
  // A real vote is given once per term (§5.2); a pre-vote to anyone asking
  // for a term past ours. Either only to a log at least as up to date
  // (§5.4.1).
  bool can_vote = vote_ == m.from || (vote_ == kNoNode && leader_ == kNoNode) ||
                  (req.pre_vote && m.term > term_);
  bool granted = can_vote && log_.IsUpToDate(req.last_index, req.last_term);
  if (granted && !req.pre_vote) {
    vote_ = m.from;  // durable before the answer leaves (the Ready contract)
    election_elapsed_ = 0;
  }
  Term term = req.pre_vote && granted ? m.term : term_;
  Send(m.from, term, VoteResponse{req.pre_vote, granted});
}

void Raft::HandleVoteResponse(const Message& m, const VoteResponse& resp) {
  bool counts = resp.pre_vote ? role_ == Role::kPreCandidate &&
                                    m.term == term_ + (resp.granted ? 1 : 0)
                              : role_ == Role::kCandidate && m.term == term_;
  if (!counts) return;
  bool seen = std::any_of(votes_.begin(), votes_.end(),
                          [&](const auto& vote) { return vote.first == m.from; });
  if (seen) return;
  votes_.emplace_back(m.from, resp.granted);
  CountVotes();
}

void Raft::HandleTimeoutNow(const Message& m) {
  if (m.from != leader_ || !config().IsVoter(id())) return;
  Campaign(/*transfer=*/true);
}

}  // namespace warren::raft
