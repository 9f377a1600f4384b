// Raft: construction, ticks, message dispatch by term, roles, and the Ready
// cycle. Elections, replication, membership and snapshots are in the
// raft_*.cc files next to this one.
#include "raft/raft.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "raft/check.h"
#include "raft/codec.h"
#include "raft/errors.h"

namespace warren::raft {

namespace {

// SplitMix64: small, fast, and the same on every platform.
uint64_t NextRandom(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

template <class T>
bool Is(const Message& m) {
  return std::holds_alternative<T>(m.body);
}

}  // namespace

// The first configuration is the log's first entry, the same bytes on every
// first member, so a node that joins later learns it like any other entry.
Persisted Persisted::Bootstrap(std::vector<NodeId> voters) {
  return Bootstrap(Configuration{std::move(voters), {}, {}});
}

Persisted Persisted::Bootstrap(Configuration first) {
  std::vector<NodeId>& voters = first.voters;
  std::sort(voters.begin(), voters.end());
  voters.erase(std::unique(voters.begin(), voters.end()), voters.end());
  RAFT_CHECK(!voters.empty() && voters.front() != kNoNode && first.learners.empty());
  RAFT_CHECK(first.IsValid());
  first.highest = voters.back();
  Persisted p;
  p.hard_state.term = 1;
  p.entries.push_back(Entry{1, 1, EntryType::kMembership, EncodeConfiguration(first)});
  return p;
}

Raft::Raft(const Options& options, Persisted persisted)
    : opts_(options),
      log_(persisted.snapshot.meta, std::move(persisted.entries)),
      snapshot_(std::move(persisted.snapshot)),
      term_(persisted.hard_state.term),
      vote_(persisted.hard_state.vote),
      rng_(options.seed ^ (options.id * 0x2545f4914f6cdd1dull)),
      handed_out_(persisted.hard_state) {
  RAFT_CHECK(opts_.id != kNoNode);
  RAFT_CHECK(opts_.heartbeat_ticks >= 1 && opts_.heartbeat_ticks < opts_.election_ticks);
  RAFT_CHECK(opts_.max_entries_per_message >= 1 &&
             opts_.max_entries_per_message <= kMaxEntriesPerMessage);
  RAFT_CHECK(opts_.max_bytes_per_message <= kMaxMessageBytes / 4);
  RAFT_CHECK(snapshot_.meta.config.IsValid());
  config_ = log_.config();
  ResetElectionTimer();
}

// ---- Time ------------------------------------------------------------------

void Raft::Tick() {
  ++now_;
  if (contact_elapsed_ < opts_.election_ticks) ++contact_elapsed_;
  if (role_ == Role::kLeader) {
    TickLeader();
  } else {
    TickFollower();
  }
}

void Raft::TickFollower() {
  if (++election_elapsed_ < election_timeout_) return;
  // Learners, and nodes not (or no longer) in the configuration, never run.
  if (config().IsVoter(id())) {
    StartPreVote();
  } else {
    ResetElectionTimer();
  }
}

void Raft::TickLeader() {
  if (transfer_to_ != kNoNode && ++transfer_elapsed_ >= opts_.election_ticks) {
    transfer_to_ = kNoNode;  // the target did not take over in time
  }
  // Check-quorum: a leader no quorum has answered for an election timeout
  // may be cut off from the majority, which may elect another: stop acting.
  uint64_t heard = std::max(leader_since_, QuorumLeaseTick());
  if (now_ >= heard + static_cast<uint64_t>(opts_.election_ticks)) {
    BecomeFollower(term_, kNoNode);
    return;
  }
  if (++heartbeat_elapsed_ >= opts_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    BroadcastAppend(/*heartbeat=*/true);
  }
}

void Raft::ResetElectionTimer() {
  election_elapsed_ = 0;
  election_timeout_ =
      opts_.election_ticks + static_cast<int>(NextRandom(rng_) % opts_.election_ticks);
}

// Voters refuse to help anyone else win while they hear from a leader
// (dissertation §4.2.3); a leader, until check-quorum says otherwise.
bool Raft::InLease() const {
  return role_ == Role::kLeader || contact_elapsed_ < opts_.election_ticks;
}

uint64_t Raft::QuorumLeaseTick() const {
  std::vector<uint64_t> ticks;
  for (NodeId v : config().voters) {
    const Progress* pr = FindProgress(v);
    ticks.push_back(v == id() ? now_ : pr ? pr->lease_tick : 0);
  }
  return QuorumValue(std::move(ticks), config().Quorum());
}

std::optional<uint64_t> Raft::LeaseUntil() const {
  if (role_ != Role::kLeader || lease_forfeited_) return std::nullopt;
  uint64_t heard = QuorumLeaseTick();
  if (heard == 0) return std::nullopt;
  return heard + opts_.election_ticks;
}

bool Raft::HasLease() const {
  std::optional<uint64_t> until = LeaseUntil();
  return until && now_ < *until;
}

// ---- Messages ----------------------------------------------------------------

void Raft::Step(Message m) {
  if (m.to != id() || m.from == id() || !StepTerm(m)) return;
  bool leader = role_ == Role::kLeader;
  if (auto* ae = std::get_if<AppendEntries>(&m.body)) {
    HandleAppend(m, *ae);
  } else if (auto* resp = std::get_if<AppendEntriesResponse>(&m.body)) {
    if (leader) HandleAppendResponse(m, *resp);
  } else if (auto* req = std::get_if<VoteRequest>(&m.body)) {
    HandleVoteRequest(m, *req);
  } else if (auto* vote = std::get_if<VoteResponse>(&m.body)) {
    HandleVoteResponse(m, *vote);
  } else if (auto* is = std::get_if<InstallSnapshot>(&m.body)) {
    HandleSnapshot(m, *is);
  } else if (auto* isr = std::get_if<InstallSnapshotResponse>(&m.body)) {
    if (leader) HandleSnapshotResponse(m, *isr);
  } else if (Is<TimeoutNow>(m)) {
    HandleTimeoutNow(m);
  }
}

// Raft §5.1: a higher term makes us a follower in it, a lower one marks a
// stale message. Pre-votes are the exception: they carry the term their
// sender would campaign in, and change nobody's term. Returns whether the
// message is handled further.
bool Raft::StepTerm(const Message& m) {
  const auto* req = std::get_if<VoteRequest>(&m.body);
  if (m.term > term_) {
    if (req != nullptr && !req->transfer && InLease()) return false;
    if (req != nullptr && req->pre_vote) return true;
    const auto* resp = std::get_if<VoteResponse>(&m.body);
    if (resp != nullptr && resp->pre_vote && resp->granted) return true;
    bool from_leader = Is<AppendEntries>(m) || Is<InstallSnapshot>(m) || Is<TimeoutNow>(m);
    BecomeFollower(m.term, from_leader ? m.from : kNoNode);
    return true;
  }
  if (m.term < term_) {
    // Tell a stale leader or pre-candidate our term, so it stops.
    if (Is<AppendEntries>(m) || Is<InstallSnapshot>(m)) {
      Send(m.from, AppendEntriesResponse{});
    } else if (req != nullptr && req->pre_vote) {
      Send(m.from, VoteResponse{.pre_vote = true, .granted = false});
    }
    return false;
  }
  return true;
}

void Raft::Send(NodeId to, MessageBody body) { Send(to, term_, std::move(body)); }

void Raft::Send(NodeId to, Term term, MessageBody body) {
  outbox_.push_back(Message{id(), to, term, std::move(body)});
}

// ---- Roles -------------------------------------------------------------------

void Raft::BecomeFollower(Term term, NodeId leader) {
  if (role_ == Role::kLeader) contact_elapsed_ = opts_.election_ticks;  // it gave up its lease
  if (term > term_) {
    term_ = term;
    vote_ = kNoNode;
  }
  role_ = Role::kFollower;
  leader_ = leader;
  leader_match_ = leader_stable_ = leader_commit_ = 0;
  votes_.clear();
  progress_.clear();
  transfer_to_ = kNoNode;
  lease_forfeited_ = false;
  ResetElectionTimer();
}

void Raft::BecomeLeader() {
  role_ = Role::kLeader;
  leader_ = id();
  votes_.clear();
  heartbeat_elapsed_ = 0;
  leader_since_ = now_;
  transfer_to_ = kNoNode;
  lease_forfeited_ = false;
  progress_.clear();
  ResetProgress();
  // Entries of earlier terms commit only with one of this term (§5.4.2).
  term_start_ = log_.Append(term_, EntryType::kNoOp, "");
  BroadcastAppend(/*heartbeat=*/false);
}

std::optional<Index> Raft::KnownClusterCommit() const {
  Index commit = role_ == Role::kLeader     ? log_.committed()
                 : role_ == Role::kFollower ? leader_commit_
                                            : 0;
  if (commit == 0 || log_.TermAt(commit) != std::optional<Term>(term_)) return std::nullopt;
  return commit;
}

void Raft::HearFromLeader(NodeId leader) {
  RAFT_CHECK(role_ != Role::kLeader);  // two leaders in one term
  if (role_ != Role::kFollower) BecomeFollower(term_, leader);
  leader_ = leader;
  election_elapsed_ = 0;
  contact_elapsed_ = 0;
}

// ---- Proposals -----------------------------------------------------------------

Status Raft::CanPropose() const {
  if (role_ != Role::kLeader) {
    return RaftError(Errc::kNotLeader,
                     "not the leader; the leader is " +
                         (leader_ == kNoNode ? std::string("unknown") : std::to_string(leader_)));
  }
  if (transfer_to_ != kNoNode) {
    return RaftError(Errc::kLeadershipTransfer,
                     "leadership is moving to node " + std::to_string(transfer_to_));
  }
  return Status::Ok();
}

Result<Proposal> Raft::Propose(std::string command) {
  if (Status s = CanPropose(); !s.ok()) return s;
  if (command.size() > kMaxEntryBytes) {
    return RaftError(Errc::kTooLarge, "command of " + std::to_string(command.size()) +
                                          " bytes, past the bound of " +
                                          std::to_string(kMaxEntryBytes));
  }
  Index index = log_.Append(term_, EntryType::kCommand, std::move(command));
  // Sent with the next Ready: proposals made before it share one append.
  append_owed_ = true;
  return Proposal{index, term_};
}

// ---- Ready -------------------------------------------------------------------

bool Raft::HasReady() const {
  if (ready_out_) return false;
  return HardState{term_, vote_} != handed_out_ || snapshot_out_ || log_.HasUnstable() ||
         !outbox_.empty() || append_owed_ || log_.committed() > log_.applying();
}

Ready Raft::TakeReady() {
  RAFT_CHECK(!ready_out_);
  if (append_owed_) {
    append_owed_ = false;
    if (role_ == Role::kLeader) BroadcastAppend(/*heartbeat=*/false);
  }
  Ready r;
  HardState hs{term_, vote_};
  if (hs != handed_out_) r.hard_state = handed_out_ = hs;
  r.snapshot = std::move(snapshot_out_);
  snapshot_out_.reset();
  r.entries = log_.TakeUnstable();
  r.committed = log_.TakeCommitted();
  r.messages = std::move(outbox_);
  outbox_.clear();
  ready_applied_ = log_.applying();
  ready_out_ = true;
  return r;
}

void Raft::Advance() {
  RAFT_CHECK(ready_out_);
  ready_out_ = false;
  Index stable = log_.stable_index();
  log_.AckStable();
  log_.AppliedTo(ready_applied_);
  if (role_ == Role::kLeader) {
    MaybeCommit();  // our own copy now counts
    if (log_.stable_index() > stable) TellStable();
  } else {
    MaybeCommitAsFollower();
  }
}

std::optional<uint64_t> Raft::LastHeard(NodeId peer) const {
  if (role_ != Role::kLeader) return std::nullopt;
  if (peer == id()) return now_;
  const Progress* pr = FindProgress(peer);
  if (pr == nullptr) return std::nullopt;
  return std::max(leader_since_, pr->lease_tick);
}

std::optional<Index> Raft::MatchIndex(NodeId peer) const {
  if (role_ != Role::kLeader) return std::nullopt;
  if (peer == id()) return log_.stable_index();
  const Progress* pr = FindProgress(peer);
  if (pr == nullptr) return std::nullopt;
  return pr->match;
}

}  // namespace warren::raft
