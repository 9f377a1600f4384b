#include "broker/cluster/mirror_guard.h"

#include <optional>

#include <spdlog/spdlog.h>

#include "broker/core/broker.h"
#include "broker/core/command.h"
#include "common/text.h"

namespace warren::cluster {

namespace {

// Holds (or releases) the mirrored queues homed here; how many changed.
size_t HoldMirroredQueues(core::Broker& broker, bool held) {
  size_t n = 0;
  for (const auto& [vname, v] : broker.vhosts())
    for (const auto& [qname, q] : v->queues())
      if (!q->remote() && !q->mirrors().members.empty() && q->held() != held) {
        q->Hold(held);
        ++n;
      }
  return n;
}

}  // namespace

void ForEachQueueHomedOn(const core::Broker& broker, uint64_t member,
                         const std::function<void(const std::string&, const core::Queue&)>& fn) {
  for (const auto& [vname, v] : broker.vhosts())
    for (const auto& [qname, q] : v->queues())
      if (broker.HomeOf(*q) == member) fn(vname, *q);
}

MirrorGuard::MirrorGuard(core::Broker& broker, Runtime& runtime, const raft::Raft& raft,
                         core::MetadataGate& gate, raft::NodeId self, int64_t tick_ms,
                         Links links)
    : broker_(broker), runtime_(runtime), raft_(raft), gate_(gate), self_(self),
      tick_ms_(tick_ms), links_(std::move(links)) {}

void MirrorGuard::HoldUntilCaughtUp() {
  size_t held = HoldMirroredQueues(broker_, true);
  holding_ = held > 0;
  queues_held_ = true;
  if (held > 0)
    spdlog::info("cluster: the {} mirrored queue(s) homed here deliver nothing until this "
                 "member has applied what the cluster committed meanwhile",
                 held);
}

void MirrorGuard::Tick() {
  ReleaseOnceCaughtUp();
  KeepLease();
  PromoteMirrorsOfSilent();
}

std::vector<std::pair<raft::NodeId, bool>> MirrorGuard::Silence(int64_t ms) const {
  uint64_t limit = static_cast<uint64_t>(ms / tick_ms_);
  std::vector<raft::NodeId> members = raft_.config().voters;
  members.insert(members.end(), raft_.config().learners.begin(), raft_.config().learners.end());
  std::vector<std::pair<raft::NodeId, bool>> out;
  for (raft::NodeId m : members) {
    std::optional<uint64_t> heard = raft_.LastHeard(m);
    if (m == self_ || !heard) continue;
    // A lease granted since counts as hearing from it: a home is never
    // taken for silent while its lease may still be valid.
    if (auto g = lease_granted_.find(m); g != lease_granted_.end())
      heard = std::max(*heard, g->second);
    out.emplace_back(m, raft_.now() - *heard >= limit);
  }
  return out;
}

void MirrorGuard::PromoteMirrorsOfSilent() {
  if (raft_.role() != raft::Role::kLeader) {
    stuck_.clear();  // the next leader logs afresh
    return;
  }
  std::vector<uint64_t> alive{self_};
  std::vector<uint64_t> gone;
  for (auto [m, quiet] : Silence(kFailoverMs)) (quiet ? gone : alive).push_back(m);
  std::set<std::pair<std::string, std::string>> still_stuck;
  for (uint64_t m : gone) {
    ForEachQueueHomedOn(broker_, m, [&](const std::string& vhost, const core::Queue& q) {
      if (q.mirrors().members.empty()) return;
      auto key = std::make_pair(vhost, q.name());
      if (promoting_.count(key)) return;
      uint64_t to = core::PromotionCandidate(q, broker_.FindVHost(vhost)->PolicyOf(q), alive);
      if (to == 0) {  // no copy may take over: the queue waits for its home
        still_stuck.insert(key);
        if (!stuck_.count(key))
          spdlog::warn("cluster: member {} has not answered for {} ms: queue '{}' in vhost '{}' "
                       "has no mirror in sync to move to; it waits for its home",
                       m, kFailoverMs, LogSafe(q.name()), LogSafe(vhost));
        return;
      }
      promoting_.insert(key);
      spdlog::info("cluster: member {} has not answered for {} ms: queue '{}' in vhost '{}' "
                   "moves to its mirror on member {}",
                   m, kFailoverMs, LogSafe(q.name()), LogSafe(vhost), to);
      std::weak_ptr<bool> live = alive_;
      gate_.Submit(core::cmd::SetMirrors{vhost, q.name(), m,
                                         core::AfterFailover(q.mirrors(), m, to), to},
                   [this, live, key](const core::Outcome&) {
                     if (!live.expired()) promoting_.erase(key);
                   });
    });
  }
  stuck_ = std::move(still_stuck);  // logged once per silence
}

bool MirrorGuard::CaughtUp() const {
  std::optional<raft::Index> commit = raft_.KnownClusterCommit();
  return commit && raft_.log().applied() >= *commit;
}

void MirrorGuard::ReleaseOnceCaughtUp() {
  if (!holding_ || !CaughtUp()) return;
  holding_ = false;  // KeepLease releases them, with a lease
  spdlog::info("cluster: applied the metadata log through entry {}, as far as the cluster has "
               "committed: the mirrored queues still homed here may deliver again",
               *raft_.KnownClusterCommit());
}

// After a gap, a lease serves only once the log is applied as far as the
// leader had committed when it granted it (a leader: as far as it has
// committed): a queue moved away while this member had none is then moved
// here too. A lease held without a gap needs no such wait: no leader moves
// the queues of a home it keeps granting a lease.
bool MirrorGuard::HasLease() {
  bool leader = raft_.role() == raft::Role::kLeader;
  if (!(leader ? raft_.HasLease() : runtime_.NowMs() < lease_until_ms_)) {
    lease_gap_ = true;
    return false;
  }
  if (lease_gap_) {
    if (leader ? !CaughtUp() : raft_.log().applied() < lease_commit_) return false;
    lease_gap_ = false;
  }
  return true;
}

void MirrorGuard::KeepLease() {
  if (raft_.role() != raft::Role::kLeader) lease_granted_.clear();  // the next leader counts afresh
  int64_t now = runtime_.NowMs();
  if (raft_.role() != raft::Role::kLeader && raft_.leader() != raft::kNoNode &&
      now - renewed_at_ms_ >= kLeaseRenewMs) {
    renewed_at_ms_ = now;
    std::weak_ptr<bool> live = alive_;
    links_.renew(raft_.leader(), [this, live, sent = now](bool granted, uint64_t commit) {
      if (live.expired() || !granted) return;
      lease_until_ms_ = std::max(lease_until_ms_, sent + kHomeLeaseMs);
      lease_commit_ = std::max(lease_commit_, commit);
    });
  }
  bool lost = !HasLease();
  // While they are held, every tick: a queue may have become mirrored, or
  // moved here, meanwhile. Once released, a queue is held only by this, so
  // the next scan is when they are held again (not every tick over every
  // queue).
  bool hold = holding_ || lost;
  size_t n = hold || queues_held_ ? HoldMirroredQueues(broker_, hold) : 0;
  queues_held_ = hold;
  if (lost == lease_lost_) return;
  lease_lost_ = lost;
  if (n == 0) return;  // nothing homed here changed: nothing to say
  if (lost)
    spdlog::warn("cluster: this member holds no lease from the metadata leader: the {} mirrored "
                 "queue(s) homed here deliver nothing until it has one again",
                 n);
  else
    spdlog::info("cluster: this member holds a lease from the metadata leader again: the {} "
                 "mirrored queue(s) homed here deliver again",
                 n);
}

std::optional<uint64_t> MirrorGuard::GrantLease(const std::string& node) {
  if (raft_.role() != raft::Role::kLeader || !raft_.HasLease()) return std::nullopt;
  for (const core::MemberName& m : links_.members()) {
    if (m.name != node || m.id == self_) continue;
    lease_granted_[m.id] = raft_.now();
    return raft_.log().committed();
  }
  return std::nullopt;
}

}  // namespace warren::cluster
