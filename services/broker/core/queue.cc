#include "broker/core/queue.h"

#include <algorithm>
#include <climits>
#include <cmath>

#include "amqp/constants.h"
#include "broker/core/dead_letter.h"
#include "broker/core/errors.h"
#include "common/log.h"
#include "common/text.h"

namespace warren::core {

Queue::Queue(QueueHost& host, Runtime& runtime, std::string vhost, std::string name,
             QueueOptions options)
    : host_(host), runtime_(runtime), vhost_(std::move(vhost)), name_(std::move(name)),
      options_(std::move(options)), levels_(size_t{options_.args.max_priority} + 1) {
  last_active_ms_ = runtime_.NowMs();
  use_since_us_ = runtime_.NowUs();
  ArmUnusedTimer();
}

Queue::~Queue() {
  runtime_.Cancel(expiry_timer_);
  runtime_.Cancel(unused_timer_);
}

std::deque<QueueEntry>& Queue::LevelFor(const QueueEntry& e) {
  return levels_[std::min<size_t>(e.priority, levels_.size() - 1)];
}

QueueEntry* Queue::Head() {
  for (auto it = levels_.rbegin(); it != levels_.rend(); ++it)
    if (!it->empty()) return &it->front();
  return nullptr;
}

const QueueEntry* Queue::head() const {
  for (auto it = levels_.rbegin(); it != levels_.rend(); ++it)
    if (!it->empty()) return &it->front();
  return nullptr;
}

QueueEntry Queue::PopHead() {
  for (auto it = levels_.rbegin(); it != levels_.rend(); ++it) {
    if (it->empty()) continue;
    QueueEntry e = std::move(it->front());
    it->pop_front();
    --ready_count_;
    ready_bytes_ -= e.size;
    if (e.message) Resident(e, -1);
    return e;
  }
  return {};
}

void Queue::PushSorted(QueueEntry entry) {
  auto& level = LevelFor(entry);
  ++ready_count_;
  ready_bytes_ += entry.size;
  if (entry.message) Resident(entry, +1);
  if (level.empty() || level.back().seq < entry.seq) {
    level.push_back(std::move(entry));
    return;
  }
  auto at = std::upper_bound(level.begin(), level.end(), entry.seq,
                             [](uint64_t s, const QueueEntry& e) { return s < e.seq; });
  level.insert(at, std::move(entry));
}

void Queue::ClearReady() {
  for (auto& level : levels_) {
    for (QueueEntry& e : level) {
      if (e.message) Resident(e, -1);
      Forget(e);
    }
    level.clear();
  }
  ready_count_ = 0;
  ready_bytes_ = 0;
}

QueueEntry Queue::MakeEntry(const MessagePtr& message, bool logged) {
  QueueEntry e;
  e.message = message;
  e.seq = next_seq_++;
  e.size = static_cast<uint32_t>(message->body.size());
  e.priority = message->priority();
  e.enqueued_at = runtime_.NowMs();
  last_active_ms_ = e.enqueued_at;
  if (message->ttl_ms) e.expires_at = e.enqueued_at + *message->ttl_ms;
  if (logged) {
    e.disk = message->disk;
    e.logged = true;
  }
  return e;
}

void Queue::MaybePageOut(QueueEntry& e) {
  Persistence* store = host_.persistence();
  if (!store || !e.message || !(options_.args.lazy || host_.ShouldPage())) return;
  if (!e.logged && !e.paged_ref) {
    if (e.message->disk.valid()) {
      store->AddRef(e.message->disk);
    } else {
      DiskRef ref = store->Write(*e.message, {});
      if (!ref.valid()) return;  // the store is closed: keep the body
      e.message->disk = ref;
    }
    e.disk = e.message->disk;
    e.paged_ref = true;
  }
  e.message.reset();
}

bool Queue::Load(QueueEntry& e) {
  if (e.message) return true;
  Persistence* store = host_.persistence();
  e.message = store ? store->Read(e.disk) : nullptr;
  if (e.message) return true;
  // Skipped for now, but its record is neither settled nor released: the
  // message is still on disk and comes back at the next start.
  spdlog::error("queue '{}' in vhost '{}': message {} could not be read back; skipped until "
                "the node restarts", LogSafe(name_), LogSafe(vhost_), e.disk.id);
  e.logged = e.paged_ref = false;
  Untrack(e);
  return false;
}

void Queue::Forget(QueueEntry& e) {
  Untrack(e);
  if (replica_) replica_->Left(e.seq);
  Persistence* store = host_.persistence();
  if (store && (e.logged || e.paged_ref)) {
    if (e.logged && !deleted_) store->Settle(options_.store_id, e.disk);
    else store->Release(e.disk);
  }
  e.logged = e.paged_ref = false;
}

bool Queue::Accepts(const Message& message) const {
  return deleted_ || options_.args.overflow == Overflow::kDropHead ||
         !OverLimit(1, message.body.size());
}

bool Queue::OverLimit(uint64_t extra_count, uint64_t extra_bytes) const {
  const QueueArgs& a = options_.args;
  if (a.max_length && ready_count_ + extra_count > static_cast<uint64_t>(*a.max_length)) return true;
  if (a.max_length_bytes && ready_bytes_ + extra_bytes > static_cast<uint64_t>(*a.max_length_bytes))
    return true;
  return false;
}

Queue::EnqueueResult Queue::Enqueue(const MessagePtr& message, bool logged,
                                    const Ticket& ticket) {
  if (deleted_) return EnqueueResult::kAccepted;
  const QueueArgs& a = options_.args;
  if (!Accepts(*message)) {
    if (a.overflow == Overflow::kRejectPublishDlx) DeadLetter(MakeEntry(message, false), "maxlen");
    return EnqueueResult::kRejected;
  }
  QueueEntry e = MakeEntry(message, logged);
  Track(e, options_.durable && message->persistent());
  ++counters_.published;
  if (replica_) replica_->Entered(e, ticket);
  // An empty queue with a consumer ready hands the message straight over:
  // it never waits at the head, so even a TTL of 0 reaches the consumer
  // (as in RabbitMQ). Not while held: a home that may not serve gives out
  // nothing, new messages included.
  if (ready_count_ == 0 && !delivering_ && !held_) {
    if (Consumer* c = PickConsumer()) {
      Use(true);
      DeliverTo(*c, std::move(e));
      return EnqueueResult::kAccepted;
    }
  }
  MaybePageOut(e);
  PushSorted(std::move(e));
  EnforceLimits();
  TryDeliver();
  return EnqueueResult::kAccepted;
}

void Queue::Adopt(const MessagePtr& message, bool logged) {
  QueueEntry e = MakeEntry(message, logged);
  Track(e, options_.durable && message->persistent());
  e.redelivered = true;
  MaybePageOut(e);
  PushSorted(std::move(e));
  ArmExpiryTimer();
}

void Queue::Restore(const RestoredMessage& m, int64_t wall_now_ms) {
  QueueEntry e;
  e.disk = m.disk;
  e.logged = true;
  e.seq = next_seq_++;
  e.size = m.size;
  e.priority = m.priority;
  e.redelivered = m.redelivered;
  Track(e, true);  // only persistent messages of durable queues are logged
  // TTLs count from publishing: the entry joined the queue as long ago as
  // the message was published.
  e.enqueued_at = runtime_.NowMs() - std::max<int64_t>(0, wall_now_ms - m.published_ms);
  if (m.ttl_ms) e.expires_at = e.enqueued_at + *m.ttl_ms;
  bool expires = Deadline(e) != kNeverExpires;
  PushSorted(std::move(e));
  if (expires) ArmExpiryTimer();
}

void Queue::EnforceLimits() {
  if (options_.args.overflow != Overflow::kDropHead) return;
  while (ready_count_ > 0 && OverLimit(0, 0)) DeadLetter(PopHead(), "maxlen");
}

Status Queue::CanAddConsumer(bool exclusive) const {
  bool exclusive_held = !consumers_.empty() && consumers_.front()->exclusive();
  if (exclusive_held || (exclusive && !consumers_.empty()))
    return AmqpError(amqp::ReplyCode::kAccessRefused,
                     "queue '" + name_ + "' in vhost '" + vhost_ + "' in exclusive use");
  return Status::Ok();
}

void Queue::AddConsumer(Consumer* consumer) {
  consumers_.push_back(consumer);
  had_consumer_ = true;
  last_active_ms_ = runtime_.NowMs();
  Use(true);
  runtime_.Cancel(unused_timer_);
  unused_timer_ = 0;
  TryDeliver();
}

void Queue::RemoveConsumer(Consumer* consumer) {
  auto it = std::find(consumers_.begin(), consumers_.end(), consumer);
  if (it == consumers_.end()) return;
  consumers_.erase(it);
  last_active_ms_ = runtime_.NowMs();
  if (deleted_) return;
  if (!consumers_.empty()) {
    // A new single active consumer may now take messages.
    TryDeliver();
    return;
  }
  if (options_.auto_delete && had_consumer_) {
    host_.DeleteUnusedQueue(*this);
    return;
  }
  ArmUnusedTimer();
}

Consumer* Queue::active_consumer() const {
  if (!options_.args.single_active_consumer || consumers_.empty()) return nullptr;
  return consumers_.front();
}

Consumer* Queue::PickConsumer() {
  if (consumers_.empty()) return nullptr;
  if (options_.args.single_active_consumer) {
    Consumer* c = consumers_.front();
    return c->sink().HasCredit(*c) ? c : nullptr;
  }
  // Highest priority first; round-robin among consumers of equal priority.
  size_t n = consumers_.size();
  Consumer* best = nullptr;
  size_t best_at = 0;
  for (size_t i = 0; i < n; ++i) {
    size_t at = (round_robin_ + i) % n;
    Consumer* c = consumers_[at];
    if ((!best || c->priority() > best->priority()) && c->sink().HasCredit(*c)) {
      best = c;
      best_at = at;
    }
  }
  if (best) round_robin_ = best_at + 1;
  return best;
}

void Queue::Hold(bool held) {
  held_ = held;
  if (!held_) TryDeliver();
}

void Queue::TryDeliver() {
  if (held_) return;
  if (delivering_) {
    deliver_again_ = true;
    return;
  }
  delivering_ = true;
  do {
    deliver_again_ = false;
    // A consumer's ack or a requeue leads here (the channel resumes its
    // consumers' queues): activity, timed by the clock read taken anyway.
    last_active_ms_ = DropExpiredHeads();
    while (ready_count_ > 0 && !deleted_) {
      Consumer* c = PickConsumer();
      Use(c != nullptr);
      if (!c) break;
      QueueEntry e = PopHead();
      if (Deadline(e) <= runtime_.NowMs()) {
        DeadLetter(std::move(e), "expired");
        continue;
      }
      DeliverTo(*c, std::move(e));
    }
  } while (deliver_again_ && !deleted_);
  delivering_ = false;
  ArmExpiryTimer();
}

bool Queue::DeliverTo(Consumer& c, QueueEntry entry) {
  if (!Load(entry)) return false;
  if (!c.no_ack()) Unacked(entry, +1);
  ++counters_.delivered;
  ++(c.no_ack() ? counters_.delivered_consume_auto_ack : counters_.delivered_consume_manual_ack);
  if (entry.redelivered) ++counters_.redelivered;
  if (c.no_ack()) Forget(entry);
  else if (entry.logged) host_.persistence()->Delivered(options_.store_id, entry.disk);
  c.sink().Deliver(c, std::move(entry));
  return true;
}

std::optional<QueueEntry> Queue::Get(bool no_ack) {
  if (held_) {
    ++counters_.get_empty;
    return std::nullopt;
  }
  Touch();
  last_active_ms_ = DropExpiredHeads();
  ArmExpiryTimer();
  while (ready_count_ > 0) {
    QueueEntry e = PopHead();
    if (!Load(e)) continue;
    if (!no_ack) Unacked(e, +1);
    ++counters_.delivered;
    ++(no_ack ? counters_.delivered_get_auto_ack : counters_.delivered_get_manual_ack);
    if (e.redelivered) ++counters_.redelivered;
    if (no_ack) Forget(e);
    else if (e.logged) host_.persistence()->Delivered(options_.store_id, e.disk);
    ArmExpiryTimer();
    return e;
  }
  ++counters_.get_empty;
  return std::nullopt;
}

void Queue::Ack(QueueEntry& entry) {
  Unacked(entry, -1);
  ++counters_.acked;
  Forget(entry);
}

void Queue::Requeue(std::vector<QueueEntry> entries) {
  if (deleted_) {
    for (auto& e : entries) Forget(e);
    return;
  }
  for (auto& e : entries) {
    Unacked(e, -1);
    e.redelivered = true;
    if (replica_) replica_->Requeued(e);
    MaybePageOut(e);
    PushSorted(std::move(e));
  }
  EnforceLimits();  // RabbitMQ's requeue_and_run drops heads past x-max-length
  TryDeliver();
}

void Queue::Reject(QueueEntry entry) {
  Unacked(entry, -1);
  if (deleted_) {
    Forget(entry);
    return;
  }
  DeadLetter(std::move(entry), "rejected");
}

size_t Queue::Purge() {
  size_t n = ready_count_;
  ClearReady();
  ArmExpiryTimer();
  return n;
}

int64_t Queue::Deadline(const QueueEntry& e) const {
  const std::optional<int64_t>& ttl = options_.args.message_ttl;
  return ttl ? std::min(e.expires_at, e.enqueued_at + *ttl) : e.expires_at;
}

void Queue::ApplyPolicy(const Policy* policy, const std::string& operator_policy) {
  if (deleted_) return;
  auto declared = ParseQueueArgs(options_.arguments, name_, vhost_);
  if (!declared.ok()) return;  // cannot happen: checked when declared
  policy_name_ = policy ? policy->name : std::string();
  operator_policy_name_ = operator_policy;
  QueueArgs before = options_.args;
  options_.args = OverlayPolicy(declared.value(), options_.arguments, policy);
  const QueueArgs& after = options_.args;
  if (after.expires != before.expires) {
    runtime_.Cancel(unused_timer_);
    unused_timer_ = 0;
    if (consumers_.empty()) ArmUnusedTimer();
  }
  if (after.lazy && !before.lazy) PageOutReady();
  EnforceLimits();
  TryDeliver();  // drops heads a new message-ttl expired; re-arms the expiry timer
}

void Queue::PageOutReady() {
  for (auto& level : levels_) {
    for (QueueEntry& e : level) {
      if (!e.message) continue;
      MaybePageOut(e);
      if (!e.message) Resident(e, -1);
    }
  }
}

int64_t Queue::DropExpiredHeads() {
  int64_t now = runtime_.NowMs();
  // Like RabbitMQ, only messages at the head of the queue expire.
  for (auto it = levels_.rbegin(); it != levels_.rend(); ++it) {
    while (!it->empty() && Deadline(it->front()) <= now) {
      QueueEntry e = std::move(it->front());
      it->pop_front();
      --ready_count_;
      ready_bytes_ -= e.size;
      if (e.message) Resident(e, -1);
      DeadLetter(std::move(e), "expired");
    }
  }
  return now;
}

void Queue::ArmExpiryTimer() {
  if (deleted_ || remote()) return;
  int64_t next = kNeverExpires;
  for (const auto& level : levels_)
    if (!level.empty()) next = std::min(next, Deadline(level.front()));
  if (next == expiry_deadline_) return;
  runtime_.Cancel(expiry_timer_);
  expiry_timer_ = 0;
  expiry_deadline_ = next;
  if (next == kNeverExpires) return;
  std::weak_ptr<Queue> self = weak_from_this();
  expiry_timer_ = runtime_.ScheduleAfter(std::max<int64_t>(0, next - runtime_.NowMs()), [self] {
    if (auto q = self.lock()) {
      q->expiry_timer_ = 0;
      q->expiry_deadline_ = kNeverExpires;
      q->TryDeliver();
    }
  });
}

namespace {

// rabbit_queue_consumers' use_avg: the fraction of `active_us + inactive_us`
// that was active, folded into `avg` with a 1 s half-life.
double UseAverage(int64_t active_us, int64_t inactive_us, double avg) {
  constexpr double kHalfLifeUs = 1'000'000.0;
  if (active_us == 0 && inactive_us == 0) return avg;
  double time = static_cast<double>(active_us + inactive_us);
  double weight = std::exp(time * std::log(0.5) / kHalfLifeUs);
  return (static_cast<double>(active_us) / time) * (1 - weight) + avg * weight;
}

}  // namespace

void Queue::SwitchUse(bool active) {
  int64_t now = runtime_.NowUs();
  if (active) use_avg_ = UseAverage(use_active_us_, now - use_since_us_, use_avg_);
  else use_active_us_ = now - use_since_us_;
  use_since_us_ = now;
  use_active_ = active;
}

double Queue::consumer_capacity() const {
  if (consumers_.empty()) return 0;
  int64_t now = runtime_.NowUs();
  return use_active_ ? UseAverage(now - use_since_us_, 0, use_avg_)
                     : UseAverage(use_active_us_, now - use_since_us_, use_avg_);
}

uint64_t Queue::memory_bytes() const {
  uint64_t bytes = sizeof(Queue) + name_.capacity() + vhost_.capacity() + policy_name_.capacity();
  bytes += options_.arguments.entries.capacity() * sizeof(options_.arguments.entries[0]);
  bytes += levels_.capacity() * sizeof(std::deque<QueueEntry>);
  bytes += ready_count_ * sizeof(QueueEntry);
  bytes += consumers_.capacity() * sizeof(Consumer*) + consumers_.size() * sizeof(Consumer);
  return bytes + ram_bytes();
}

void Queue::Touch() {
  if (consumers_.empty()) ArmUnusedTimer();
}

void Queue::ArmUnusedTimer() {
  if (!options_.args.expires || deleted_ || remote()) return;
  runtime_.Cancel(unused_timer_);
  // The constructor runs before any shared_ptr owns the queue, so the timer
  // looks the queue up through the host by name instead of weak_from_this.
  QueueHost* host = &host_;
  Queue* self = this;
  unused_timer_ = runtime_.ScheduleAfter(*options_.args.expires, [host, self] {
    self->unused_timer_ = 0;
    if (self->consumers_.empty()) host->DeleteUnusedQueue(*self);
  });
}

void Queue::DeadLetter(QueueEntry entry, const char* reason) {
  ++counters_.dead_lettered;
  const QueueArgs& a = options_.args;
  if (a.dead_letter_exchange && Load(entry)) {
    MessagePtr copy = MakeDeadLetter(*entry.message, name_, reason, runtime_.WallSeconds(),
                                     *a.dead_letter_exchange, a.dead_letter_routing_key);
    // The copy is routed (and written, if persistent) before the original
    // is logged as gone, so a crash in between duplicates rather than loses.
    host_.PublishDeadLetter(*this, *a.dead_letter_exchange, std::move(copy));
  }
  Forget(entry);
}

void Queue::MarkDeleted() {
  if (deleted_) return;
  deleted_ = true;
  runtime_.Cancel(expiry_timer_);
  runtime_.Cancel(unused_timer_);
  expiry_timer_ = unused_timer_ = 0;
  std::vector<Consumer*> consumers;
  consumers.swap(consumers_);
  for (Consumer* c : consumers) c->sink().Cancelled(*c);
  ClearReady();
}

}  // namespace warren::core
