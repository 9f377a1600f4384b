#include "broker/cluster/queue_replicator.h"

#include <algorithm>
#include <optional>
#include <vector>

#include <spdlog/spdlog.h>

#include "broker/cluster/mirror_copies.h"
#include "broker/cluster/mirror_link.h"
#include "broker/core/broker.h"
#include "broker/core/errors.h"
#include "common/text.h"

namespace warren::cluster {

namespace {

constexpr int64_t kTickMs = 100;
constexpr int64_t kRetryMs = 1000;  // after a stream to a mirror broke
constexpr size_t kLeaveBatch = 1024;  // leaves that go without waiting for an entry

size_t SyncBatch(const core::VHost& v, const core::Queue& queue) {
  const core::Policy* p = v.PolicyOf(queue);
  const amqp::FieldValue* b = p ? p->definition.Find("ha-sync-batch-size") : nullptr;
  std::optional<int64_t> n = b ? b->AsInt() : std::nullopt;
  return n && *n > 0 ? static_cast<size_t>(*n) : QueueReplicator::kDefaultSyncBatch;
}

bool Contains(const std::vector<uint64_t>& ids, uint64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

class QueueReplicator::Feed final : public core::QueueReplica {
 public:
  Feed(QueueReplicator& r, const std::shared_ptr<core::Queue>& q)
      : r_(r), queue_(q), vhost_(q->vhost()), name_(q->name()), attach_seq_(q->next_seq()),
        unknown_unacked_(q->unacked_count()) {
    core::Persistence* store = r_.broker_.persistence();
    q->ForEachReady([&](const core::QueueEntry& e) {
      core::MessagePtr m = e.message ? e.message : (store ? store->Read(e.disk) : nullptr);
      if (m) index_[e.seq] = std::move(m);
    });
    q->set_replica(this);
  }

  // `ok`: what the waits still open are answered (true when the record no
  // longer needs these copies; false when the node is stopping).
  void Drop(bool ok) {
    if (auto q = queue_.lock(); q && q->replica() == this) q->set_replica(nullptr);
    for (auto& [id, m] : mirrors_) AnswerAll(m, ok);
    mirrors_.clear();
  }

  bool Of(const std::shared_ptr<core::Queue>& q) const { return queue_.lock() == q; }

  // The mirrors not in sync copy the backlog (or, with `cancel`, stop);
  // how many they are.
  size_t Sync(bool cancel) {
    size_t n = 0;
    for (auto& [id, m] : mirrors_) {
      if (m.state == State::kInSync || m.state == State::kJoining) continue;
      m.asked = !cancel;
      ++n;
    }
    return n;
  }

  // core::QueueReplica
  void Entered(const core::QueueEntry& e, const core::Ticket& ticket) override {
    FlushLeaves();  // in the same frame
    index_[e.seq] = e.message;
    for (auto& [id, m] : mirrors_) {
      // Before the fence, any mirror may be in sync as far as this feed knows.
      bool waits = ticket && (m.state != State::kSyncing || !fenced_);
      if (waits) ticket->AddWait();
      if (m.started || waits) Send(id, m, e.seq, e.message, waits ? ticket : core::Ticket{});
    }
  }
  void Requeued(const core::QueueEntry& e) override {
    if (index_.count(e.seq) || !e.message) return;
    // Delivered before this feed started: the mirrors never had it.
    index_[e.seq] = e.message;
    if (e.seq < attach_seq_ && unknown_unacked_ > 0) --unknown_unacked_;
    for (auto& [id, m] : mirrors_)
      if (m.started) Send(id, m, e.seq, e.message, {});
  }
  void Left(uint64_t seq) override {
    if (index_.erase(seq) == 0) {
      if (seq < attach_seq_ && unknown_unacked_ > 0) --unknown_unacked_;
      return;
    }
    // Nothing waits on a leave: it goes with the next entry (one frame to
    // the mirror instead of two), at the next tick, or once many wait.
    leaves_.push_back(seq);
    if (leaves_.size() >= kLeaveBatch) FlushLeaves();
  }

  void Tick() {
    FlushLeaves();
    std::shared_ptr<core::Queue> q = queue_.lock();
    if (!q) return;
    const core::Mirrors& record = q->mirrors();
    for (auto it = mirrors_.begin(); it != mirrors_.end();) {
      if (Contains(record.members, it->first)) {
        ++it;
        continue;
      }
      AnswerAll(it->second, true);  // the committed record no longer has it
      it = mirrors_.erase(it);
    }
    for (uint64_t id : record.members) mirrors_.try_emplace(id);
    if (!fenced_) {
      Fence(*q);
      return;
    }
    const int64_t now = r_.runtime_.NowMs();
    for (auto& [id, m] : mirrors_) Step(*q, id, m, now);
  }

 private:
  enum class State { kSyncing, kJoining, kInSync, kLeaving };
  struct Sent {
    int64_t at_ms = 0;
    core::Ticket ticket;  // empty: nothing waits on this copy
  };
  struct Mirror {
    State state = State::kSyncing;
    bool started = false;   // reset sent on the stream now open
    uint64_t sync_end = 0;  // entries below were in the queue at the start
    uint64_t cursor = 0;    // the next of those to send
    std::map<uint64_t, Sent> unheld;
    int64_t retry_at_ms = 0;
    bool proposing = false;
    // The epoch its last join was proposed at: until the record reaches it,
    // that join may still commit, so leaving needs a commit of its own.
    uint64_t join_epoch = 0;
    uint64_t breaks = 0;  // MirrorLink::Breaks when it started
    // Whether it copies the backlog, as an operator said (sync_queue: yes,
    // cancel_sync_queue: no) since it last joined; else as the policy says.
    std::optional<bool> asked;
  };

  void Step(core::Queue& q, uint64_t id, Mirror& m, int64_t now) {
    const core::Mirrors& record = q.mirrors();
    // Listed in sync but not shown to hold this feed's entries: out first.
    if (m.state == State::kSyncing && Contains(record.in_sync, id)) m.state = State::kLeaving;
    // A stream that broke, even with nothing in flight: a restarted mirror
    // lost its copy.
    if (m.started && r_.remote_.Breaks(id) != m.breaks) Fail(id, m);
    if (!m.unheld.empty() && now - m.unheld.begin()->second.at_ms > kSilentMirrorMs &&
        m.started) {
      spdlog::warn("cluster: the mirror of queue '{}' in vhost '{}' on member {} held nothing "
                   "for {} ms",
                   LogSafe(name_), LogSafe(vhost_), id, kSilentMirrorMs);
      Fail(id, m);
    }
    // A reset empties the mirror's copy: never while the record may list it
    // in sync, where a failover could promote it. A leaving mirror waits
    // for the commit that takes it out (Committed), then syncs from a reset.
    if (!m.started && now >= m.retry_at_ms && m.state == State::kSyncing) Start(q, id, m);
    if (m.state == State::kSyncing && m.started && Copies(q, m)) SendBacklog(q, id, m);
    if (m.state == State::kSyncing && m.started && HoldsBacklog(m) && unknown_unacked_ == 0 &&
        m.unheld.empty()) {
      m.state = State::kJoining;
      m.asked.reset();
    }
    if ((m.state == State::kJoining || m.state == State::kLeaving) && !m.proposing)
      Propose(q, id, m);
  }

  void Start(core::Queue& q, uint64_t id, Mirror& m) {
    if (r_.remote_.Refusing(id)) {  // its member is down: later
      m.retry_at_ms = r_.runtime_.NowMs() + kRetryMs;
      return;
    }
    m.breaks = r_.remote_.Breaks(id);
    r_.remote_.MirrorReset(id, vhost_, name_, q.mirrors().epoch);
    m.started = true;
    m.sync_end = q.next_seq();
    m.cursor = 0;
  }

  bool Copies(const core::Queue& q, const Mirror& m) const {
    return m.asked.value_or(core::SyncsByItself(q, r_.broker_.FindVHost(vhost_)->PolicyOf(q)));
  }

  // Every entry the queue held when the mirror started went to it, or has
  // left the queue since (a manual mirror waits for that).
  bool HoldsBacklog(const Mirror& m) const {
    return m.cursor >= m.sync_end || index_.empty() || index_.begin()->first >= m.sync_end;
  }

  // Paced by the mirror's answers (kSyncBatchesUnheld): sent faster than
  // it can hold them, a slow mirror's oldest entry would wait past
  // kSilentMirrorMs, and it would be dropped and synced again from the
  // start, over and over. (One run each here: with four batches owed a
  // million messages synced in 126 s, with two in 54 s.)
  void SendBacklog(core::Queue& q, uint64_t id, Mirror& m) {
    size_t batch = SyncBatch(*r_.broker_.FindVHost(vhost_), q);
    size_t room = kSyncBatchesUnheld * batch;
    if (m.unheld.size() >= room) return;
    size_t budget = std::min(batch, room - m.unheld.size());
    auto it = index_.lower_bound(m.cursor);
    for (; it != index_.end() && it->first < m.sync_end && budget > 0; ++it, --budget)
      Send(id, m, it->first, it->second, {});
    m.cursor = it == index_.end() || it->first >= m.sync_end ? m.sync_end : it->first;
  }

  void Send(uint64_t id, Mirror& m, uint64_t seq, const core::MessagePtr& message,
            const core::Ticket& ticket) {
    m.unheld[seq] = Sent{r_.runtime_.NowMs(), ticket};
    if (!m.started) return;  // answered when it leaves the in-sync set
    std::weak_ptr<bool> alive = alive_;
    r_.remote_.MirrorEnter(id, vhost_, name_, seq, message, [this, alive, id, seq](bool ok) {
      if (!alive.expired()) Held(id, seq, ok);
    });
  }

  void Held(uint64_t id, uint64_t seq, bool ok) {
    auto it = mirrors_.find(id);
    if (it == mirrors_.end()) return;
    Mirror& m = it->second;
    if (!ok) {
      if (m.started) Fail(id, m);
      return;
    }
    auto sent = m.unheld.find(seq);
    if (sent == m.unheld.end()) return;
    if (sent->second.ticket) r_.broker_.durability().Answer(sent->second.ticket, true);
    m.unheld.erase(sent);
  }

  // The stream to the mirror broke or it stopped answering: it is synced
  // again, after leaving the in-sync set if it is (or may be) in it.
  void Fail(uint64_t id, Mirror& m) {
    m.started = false;
    m.retry_at_ms = r_.runtime_.NowMs() + kRetryMs;
    if (m.state == State::kSyncing) {
      m.unheld.clear();
      return;
    }
    m.state = State::kLeaving;
    for (auto& [seq, sent] : m.unheld) sent.at_ms = r_.runtime_.NowMs();
  }

  // A new feed (a restarted home, a queue just mirrored or moved here)
  // cannot trust its record: this member may not have applied every change
  // committed, and a join its previous life proposed may still commit. So
  // before it resets any copy or confirms without a mirror, it commits one
  // change taking every mirror out of the in-sync set at a higher epoch,
  // which makes any such join stale. Until then every publish waits on
  // every mirror; once committed, those waits are answered (no mirror is in
  // sync now) and the mirrors sync from a reset.
  void Fence(core::Queue& q) {
    if (fencing_) return;
    const core::Mirrors& record = q.mirrors();
    core::Mirrors next{record.members, {}, record.epoch + 1};
    fencing_ = true;
    std::weak_ptr<bool> alive = alive_;
    r_.gate_.Submit(core::cmd::SetMirrors{vhost_, name_, r_.broker_.self_member(), next},
                    [this, alive](const core::Outcome& o) {
                      if (alive.expired()) return;
                      fencing_ = false;
                      // Refused (stale, or not committed): the next tick tries again.
                      if (!o.status.ok()) return;
                      fenced_ = true;
                      for (auto& [id, m] : mirrors_) {
                        AnswerAll(m, true);
                        m.state = State::kSyncing;
                      }
                    });
  }

  // Commits the mirror into (joining) or out of (leaving) the in-sync set.
  void Propose(core::Queue& q, uint64_t id, Mirror& m) {
    const core::Mirrors& record = q.mirrors();
    std::vector<uint64_t> in_sync = record.in_sync;
    bool joining = m.state == State::kJoining;
    // The record says so already. Not for a leave while a join this feed
    // proposed may still commit unseen (this member's record lags, or the
    // answer was lost): a change of its own, at the join's epoch or later,
    // makes that join stale.
    if (joining == Contains(in_sync, id) && (joining || record.epoch >= m.join_epoch)) {
      Committed(id, joining);
      return;
    }
    if (joining) {
      in_sync.push_back(id);
      std::sort(in_sync.begin(), in_sync.end());
      m.join_epoch = record.epoch + 1;
    } else {
      in_sync.erase(std::remove(in_sync.begin(), in_sync.end(), id), in_sync.end());
    }
    core::Mirrors next{record.members, std::move(in_sync), record.epoch + 1};
    m.proposing = true;
    std::weak_ptr<bool> alive = alive_;
    r_.gate_.Submit(core::cmd::SetMirrors{vhost_, name_, r_.broker_.self_member(), next},
                    [this, alive, id, joining](const core::Outcome& o) {
                      if (alive.expired()) return;
                      auto it = mirrors_.find(id);
                      if (it == mirrors_.end()) return;
                      it->second.proposing = false;
                      // Refused (stale, or not committed): the next tick tries again.
                      if (o.status.ok()) Committed(id, joining);
                    });
  }

  void Committed(uint64_t id, bool joined) {
    Mirror& m = mirrors_.at(id);
    if (joined) {
      if (m.state == State::kJoining) m.state = State::kInSync;
      spdlog::info("cluster: the mirror of queue '{}' in vhost '{}' on member {} is in sync",
                   LogSafe(name_), LogSafe(vhost_), id);
      return;
    }
    if (m.state != State::kLeaving) return;
    spdlog::info("cluster: the mirror of queue '{}' in vhost '{}' on member {} left the in-sync "
                 "set",
                 LogSafe(name_), LogSafe(vhost_), id);
    // Out of the in-sync set: what waited on it may be confirmed without it.
    AnswerAll(m, true);
    m.state = State::kSyncing;
    m.started = false;  // synced again from the start
  }

  void AnswerAll(Mirror& m, bool ok) {
    for (auto& [seq, sent] : m.unheld)
      if (sent.ticket) r_.broker_.durability().Answer(sent.ticket, ok);
    m.unheld.clear();
  }

  void FlushLeaves() {
    if (leaves_.empty()) return;
    std::vector<uint64_t> seqs = std::move(leaves_);
    leaves_.clear();
    for (auto& [id, m] : mirrors_)
      if (m.started) r_.remote_.MirrorLeave(id, vhost_, name_, seqs);
  }

  QueueReplicator& r_;
  std::weak_ptr<core::Queue> queue_;
  std::string vhost_, name_;
  uint64_t attach_seq_;
  uint64_t unknown_unacked_;
  std::map<uint64_t, core::MessagePtr> index_;  // what the queue holds, by seq
  std::map<uint64_t, Mirror> mirrors_;          // by member id
  std::vector<uint64_t> leaves_;  // not sent yet
  bool fenced_ = false;   // Fence committed
  bool fencing_ = false;  // proposed, not answered
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

QueueReplicator::QueueReplicator(core::Broker& broker, MirrorLink& remote,
                                 core::MetadataGate& gate, Runtime& runtime, MirrorCopies* copies)
    : broker_(broker), remote_(remote), gate_(gate), runtime_(runtime), copies_(copies) {
  // At once: a restarted home's queues must not take a publish before their
  // feeds wait on the mirrors their records list in sync.
  Tick();
}

QueueReplicator::~QueueReplicator() {
  runtime_.Cancel(timer_);
  for (auto& [key, feed] : feeds_) feed->Drop(false);
}

Status QueueReplicator::SyncMirrors(const std::string& vhost, const std::string& queue,
                                    bool cancel) {
  core::VHost* v = broker_.FindVHost(vhost);
  std::shared_ptr<core::Queue> q = v ? v->FindQueue(queue) : nullptr;
  std::string named = "queue '" + queue + "' in vhost '" + vhost + "'";
  if (!q || q->remote() || q->deleted())
    return core::AmqpError(amqp::ReplyCode::kNotFound, "no " + named + " is homed here");
  if (q->mirrors().members.empty())
    return core::AmqpError(amqp::ReplyCode::kPreconditionFailed, named + " is not mirrored");
  std::unique_ptr<Feed>& feed = feeds_[std::make_pair(vhost, queue)];
  if (!feed || !feed->Of(q)) {  // mirrored since the last tick
    if (feed) feed->Drop(true);
    feed = std::make_unique<Feed>(*this, q);
    feed->Tick();
  }
  size_t n = feed->Sync(cancel);
  spdlog::info("cluster: {}: {} mirror(s) of queue '{}' in vhost '{}' {} its backlog",
               cancel ? "cancel_sync_queue" : "sync_queue", n, LogSafe(queue), LogSafe(vhost),
               cancel ? "stop copying" : "copy");
  return {};
}

void QueueReplicator::Tick() {
  timer_ = runtime_.ScheduleAfter(kTickMs, [this] { Tick(); });
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Feed>> kept;
  for (const auto& [vname, v] : broker_.vhosts()) {
    for (const auto& [qname, q] : v->queues()) {
      if (q->remote() || q->deleted() || q->mirrors().members.empty()) continue;
      auto key = std::make_pair(vname, qname);
      auto it = feeds_.find(key);
      std::unique_ptr<Feed> feed;
      if (it != feeds_.end() && it->second && it->second->Of(q)) feed = std::move(it->second);
      else feed = std::make_unique<Feed>(*this, q);
      kept[key] = std::move(feed);
    }
  }
  // Queues deleted or no longer mirrored: the record needs no copy now. A
  // queue that moved to another home (a failover while this member was cut
  // off): what waited on the copies is refused, the new home may lack it.
  for (auto& [key, feed] : feeds_) {
    if (!feed) continue;
    core::VHost* v = broker_.FindVHost(key.first);
    std::shared_ptr<core::Queue> now = v ? v->FindQueue(key.second) : nullptr;
    feed->Drop(!(now && now->remote()));
  }
  feeds_ = std::move(kept);
  for (auto& [key, feed] : feeds_) feed->Tick();
  if (copies_) copies_->Prune();
}

}  // namespace warren::cluster
