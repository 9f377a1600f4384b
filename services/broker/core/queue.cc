#include "broker/core/queue.h"

#include <algorithm>
#include <climits>

#include "amqp/constants.h"
#include "broker/core/dead_letter.h"
#include "broker/core/errors.h"

namespace warren::core {

Queue::Queue(QueueHost& host, Runtime& runtime, std::string vhost, std::string name,
             QueueOptions options)
    : host_(host), runtime_(runtime), vhost_(std::move(vhost)), name_(std::move(name)),
      options_(std::move(options)), levels_(size_t{options_.args.max_priority} + 1) {
  ArmUnusedTimer();
}

Queue::~Queue() {
  runtime_.Cancel(expiry_timer_);
  runtime_.Cancel(unused_timer_);
}

std::deque<QueueEntry>& Queue::LevelFor(const Message& m) {
  return levels_[std::min<size_t>(m.priority(), levels_.size() - 1)];
}

QueueEntry* Queue::Head() {
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
    ready_bytes_ -= e.message->body.size();
    return e;
  }
  return {};
}

void Queue::PushSorted(QueueEntry entry) {
  auto& level = LevelFor(*entry.message);
  ++ready_count_;
  ready_bytes_ += entry.message->body.size();
  if (level.empty() || level.back().seq < entry.seq) {
    level.push_back(std::move(entry));
    return;
  }
  auto at = std::upper_bound(level.begin(), level.end(), entry.seq,
                             [](uint64_t s, const QueueEntry& e) { return s < e.seq; });
  level.insert(at, std::move(entry));
}

bool Queue::OverLimit(uint64_t extra_count, uint64_t extra_bytes) const {
  const QueueArgs& a = options_.args;
  if (a.max_length && ready_count_ + extra_count > static_cast<uint64_t>(*a.max_length)) return true;
  if (a.max_length_bytes && ready_bytes_ + extra_bytes > static_cast<uint64_t>(*a.max_length_bytes))
    return true;
  return false;
}

Queue::EnqueueResult Queue::Enqueue(const MessagePtr& message) {
  if (deleted_) return EnqueueResult::kAccepted;
  const QueueArgs& a = options_.args;
  if (a.overflow != Overflow::kDropHead && OverLimit(1, message->body.size())) {
    if (a.overflow == Overflow::kRejectPublishDlx)
      DeadLetter(QueueEntry{message, next_seq_++, kNeverExpires, false}, "maxlen");
    return EnqueueResult::kRejected;
  }
  QueueEntry e{message, next_seq_++, kNeverExpires, false};
  std::optional<int64_t> ttl = a.message_ttl;
  if (message->ttl_ms) ttl = ttl ? std::min(*ttl, *message->ttl_ms) : *message->ttl_ms;
  if (ttl) e.expires_at = runtime_.NowMs() + *ttl;
  ++counters_.published;
  // An empty queue with a consumer ready hands the message straight over:
  // it never waits at the head, so even a TTL of 0 reaches the consumer
  // (as in RabbitMQ).
  if (ready_count_ == 0 && !delivering_) {
    if (Consumer* c = PickConsumer()) {
      DeliverTo(*c, std::move(e));
      return EnqueueResult::kAccepted;
    }
  }
  PushSorted(std::move(e));
  EnforceLimits();
  TryDeliver();
  return EnqueueResult::kAccepted;
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
  runtime_.Cancel(unused_timer_);
  unused_timer_ = 0;
  TryDeliver();
}

void Queue::RemoveConsumer(Consumer* consumer) {
  auto it = std::find(consumers_.begin(), consumers_.end(), consumer);
  if (it == consumers_.end()) return;
  consumers_.erase(it);
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

void Queue::TryDeliver() {
  if (delivering_) {
    deliver_again_ = true;
    return;
  }
  delivering_ = true;
  do {
    deliver_again_ = false;
    DropExpiredHeads();
    while (ready_count_ > 0 && !deleted_) {
      Consumer* c = PickConsumer();
      if (!c) break;
      QueueEntry e = PopHead();
      if (e.expires_at <= runtime_.NowMs()) {
        DeadLetter(std::move(e), "expired");
        continue;
      }
      DeliverTo(*c, std::move(e));
    }
  } while (deliver_again_ && !deleted_);
  delivering_ = false;
  ArmExpiryTimer();
}

void Queue::DeliverTo(Consumer& c, QueueEntry entry) {
  if (!c.no_ack()) ++unacked_;
  ++counters_.delivered;
  if (entry.redelivered) ++counters_.redelivered;
  c.sink().Deliver(c, std::move(entry));
}

std::optional<QueueEntry> Queue::Get(bool no_ack) {
  Touch();
  DropExpiredHeads();
  ArmExpiryTimer();
  if (ready_count_ == 0) return std::nullopt;
  QueueEntry e = PopHead();
  if (!no_ack) ++unacked_;
  ++counters_.delivered;
  if (e.redelivered) ++counters_.redelivered;
  ArmExpiryTimer();
  return e;
}

void Queue::Ack() {
  if (unacked_ > 0) --unacked_;
  ++counters_.acked;
}

void Queue::Requeue(std::vector<QueueEntry> entries) {
  if (deleted_) return;
  for (auto& e : entries) {
    if (unacked_ > 0) --unacked_;
    e.redelivered = true;
    PushSorted(std::move(e));
  }
  EnforceLimits();  // RabbitMQ's requeue_and_run drops heads past x-max-length
  TryDeliver();
}

void Queue::Reject(QueueEntry entry) {
  if (unacked_ > 0) --unacked_;
  if (deleted_) return;
  DeadLetter(std::move(entry), "rejected");
}

size_t Queue::Purge() {
  size_t n = ready_count_;
  for (auto& level : levels_) level.clear();
  ready_count_ = 0;
  ready_bytes_ = 0;
  ArmExpiryTimer();
  return n;
}

void Queue::DropExpiredHeads() {
  int64_t now = runtime_.NowMs();
  // Like RabbitMQ, only messages at the head of the queue expire.
  for (auto it = levels_.rbegin(); it != levels_.rend(); ++it) {
    while (!it->empty() && it->front().expires_at <= now) {
      QueueEntry e = std::move(it->front());
      it->pop_front();
      --ready_count_;
      ready_bytes_ -= e.message->body.size();
      DeadLetter(std::move(e), "expired");
    }
  }
}

void Queue::ArmExpiryTimer() {
  if (deleted_) return;
  int64_t next = kNeverExpires;
  for (const auto& level : levels_)
    if (!level.empty()) next = std::min(next, level.front().expires_at);
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

void Queue::Touch() {
  if (consumers_.empty()) ArmUnusedTimer();
}

void Queue::ArmUnusedTimer() {
  if (!options_.args.expires || deleted_) return;
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
  if (!a.dead_letter_exchange) return;
  MessagePtr copy = MakeDeadLetter(*entry.message, name_, reason, runtime_.WallSeconds(),
                                   *a.dead_letter_exchange, a.dead_letter_routing_key);
  host_.PublishDeadLetter(*this, *a.dead_letter_exchange, std::move(copy));
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
  for (auto& level : levels_) level.clear();
  ready_count_ = 0;
  ready_bytes_ = 0;
}

}  // namespace warren::core
