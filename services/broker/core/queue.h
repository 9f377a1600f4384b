// A classic queue: ready messages in order (one deque per priority level),
// its consumers, TTL/expiry timers, length limits and dead-lettering.
//
// Lifecycle: created and deleted by its VHost (held by shared_ptr so channels
// that still hold unacked entries can tell it is gone: deleted()). Owned by one
// event loop; every call comes from that loop. Dispatch is re-entrancy safe:
// a delivery that causes another TryDeliver only marks the loop to go again.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "amqp/field_table.h"
#include "broker/core/consumer.h"
#include "broker/core/durability.h"
#include "broker/core/message.h"
#include "broker/core/persistence.h"
#include "broker/core/policy.h"
#include "broker/core/queue_args.h"
#include "common/runtime.h"
#include "common/status.h"

namespace warren::core {

class Queue;

// What a queue needs from the vhost that owns it.
class QueueHost {
 public:
  virtual ~QueueHost() = default;
  // Routes a dead-lettered message (x-death already updated) via `exchange`.
  virtual void PublishDeadLetter(Queue& from, const std::string& exchange, MessagePtr message) = 0;
  // The queue is unused (auto-delete with no consumers left, or x-expires
  // elapsed): the host deletes it. Called from a timer or RemoveConsumer.
  virtual void DeleteUnusedQueue(Queue& queue) = 0;
  // The node's store; nullptr when nothing is kept on disk.
  virtual Persistence* persistence() = 0;
  // Memory is past the paging share: new entries keep their bodies on disk.
  virtual bool ShouldPage() = 0;
  // Bytes of message bodies held in memory by ready entries moved by `delta`.
  virtual void ResidentBytesChanged(int64_t delta) = 0;
};

// What a mirrored queue's home tells its mirrors (docs/mirroring.md,
// "Replication"): each entry that joins the queue, each one that comes back
// (requeued) and each one that leaves it for good. Set by the cluster on the
// queues homed here that have mirrors; called on the loop, synchronously.
class QueueReplica {
 public:
  virtual ~QueueReplica() = default;
  // `entry` joined the queue; `ticket` (may be empty) waits on the copies.
  virtual void Entered(const QueueEntry& entry, const Ticket& ticket) = 0;
  // A delivered entry is back in the queue (requeue, recover, a consumer gone).
  virtual void Requeued(const QueueEntry& entry) = 0;
  // Entry `seq` left the queue: acked, dropped, expired, dead-lettered, purged.
  virtual void Left(uint64_t seq) = 0;
};

// A message read back from the store at start, in log order.
struct RestoredMessage {
  DiskRef disk;
  uint32_t size = 0;
  uint8_t priority = 0;
  bool redelivered = false;
  int64_t published_ms = 0;  // wall clock, for TTLs
  std::optional<int64_t> ttl_ms;
};

struct QueueOptions {
  bool durable = false;
  bool auto_delete = false;
  uint64_t exclusive_owner = 0;  // connection id; 0 = not exclusive
  uint64_t store_id = 0;         // durable queues: the store's id for it
  // The member that holds the queue's messages when that is another one
  // (core/remote.h): this node keeps only the record. 0: this node.
  uint64_t home = 0;
  Mirrors mirrors;  // core/mirroring.h
  amqp::FieldTable arguments;
  QueueArgs args;
};

struct QueueCounters {
  uint64_t published = 0;
  uint64_t delivered = 0;
  // Of those delivered, by kind; and basic.gets that found the queue empty.
  uint64_t delivered_consume_manual_ack = 0;
  uint64_t delivered_consume_auto_ack = 0;
  uint64_t delivered_get_manual_ack = 0;
  uint64_t delivered_get_auto_ack = 0;
  uint64_t get_empty = 0;
  uint64_t redelivered = 0;
  uint64_t acked = 0;
  uint64_t dead_lettered = 0;
};

class Queue : public std::enable_shared_from_this<Queue> {
 public:
  Queue(QueueHost& host, Runtime& runtime, std::string vhost, std::string name,
        QueueOptions options);
  ~Queue();
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  const std::string& name() const { return name_; }
  const std::string& vhost() const { return vhost_; }
  const QueueOptions& options() const { return options_; }
  bool durable() const { return options_.durable; }
  uint64_t store_id() const { return options_.store_id; }
  bool auto_delete() const { return options_.auto_delete; }
  uint64_t exclusive_owner() const { return options_.exclusive_owner; }
  bool deleted() const { return deleted_; }
  // Homed on another member (options().home): no messages, consumers or
  // timers here; what clients do with it goes to the home (core/remote.h).
  bool remote() const { return options_.home != 0; }
  uint64_t home() const { return options_.home; }
  // Its copies on other members (core/mirroring.h); set by VHost::SetMirrors.
  const Mirrors& mirrors() const { return options_.mirrors; }
  void set_mirrors(Mirrors mirrors) { options_.mirrors = std::move(mirrors); }
  // Told of every entry that joins, comes back or leaves (null: none).
  void set_replica(QueueReplica* replica) { replica_ = replica; }
  QueueReplica* replica() const { return replica_; }
  // The seq the next entry gets: entries below it joined before.
  uint64_t next_seq() const { return next_seq_; }
  // Calls `fn` with each ready entry, in queue order by priority level
  // (paged-out ones have no message in memory: QueueEntry::disk).
  template <class Fn>
  void ForEachReady(Fn&& fn) const {
    for (auto level = levels_.rbegin(); level != levels_.rend(); ++level)
      for (const QueueEntry& e : *level) fn(e);
  }
  // The policy in effect (empty when none); options().args already has it.
  const std::string& policy_name() const { return policy_name_; }
  // The operator policy merged into the one in effect (empty when none).
  const std::string& operator_policy_name() const { return operator_policy_name_; }

  size_t ready_count() const { return ready_count_; }
  uint64_t ready_bytes() const { return ready_bytes_; }
  uint64_t unacked_count() const { return unacked_; }
  size_t consumer_count() const { return consumers_.size(); }
  // Bytes of message bodies this queue's ready entries hold in memory.
  uint64_t resident_bytes() const { return static_cast<uint64_t>(resident_bytes_); }
  // Bodies of delivered, unacknowledged messages.
  uint64_t unacked_bytes() const { return unacked_bytes_; }
  // Ready and unacknowledged messages that are persistent as RabbitMQ counts
  // them (delivery mode 2 in a durable queue), and their body bytes.
  uint64_t persistent_count() const { return persistent_count_; }
  uint64_t persistent_bytes() const { return persistent_bytes_; }
  // Ready and unacknowledged messages whose bodies are in memory: ready
  // entries not paged out, and every unacknowledged one (its consumer's
  // channel holds the body until the ack).
  uint64_t ram_count() const { return static_cast<uint64_t>(resident_count_) + unacked_; }
  uint64_t ram_bytes() const { return resident_bytes() + unacked_bytes_; }
  // The next ready entry to be delivered (highest priority first), or null.
  const QueueEntry* head() const;
  // Activity is a message entering, a delivery attempt (which a consumer's
  // ack or reject, a requeue or a credit makes), a basic.get, a consumer
  // added or removed. A queue with none for kIdleAfterMs
  // (as RabbitMQ's queue process hibernates after a second without work)
  // is idle since its last activity: IdleSinceMs gives that moment in wall
  // ms, computed from `wall_now_ms`, or 0 while the queue is active.
  static constexpr int64_t kIdleAfterMs = 1000;
  int64_t IdleSinceMs(int64_t wall_now_ms) const {
    int64_t idle = runtime_.NowMs() - last_active_ms_;
    return idle >= kIdleAfterMs ? wall_now_ms - idle : 0;
  }
  // RabbitMQ's consumer capacity (rabbit_queue_consumers:capacity): a moving
  // average (1 s half-life) of the fraction of time the queue could hand a
  // message to a consumer at once, rather than having messages ready that no
  // consumer could take (prefetch, flow, a backed-up socket). 1.0 while the
  // consumers were never blocked; 0 without consumers.
  double consumer_capacity() const;
  // Bytes the queue holds: its own record, its ready entries and consumers,
  // and the bodies it keeps in memory (ram_bytes()). An estimate from sizes,
  // as RabbitMQ's figure is its queue process's memory.
  uint64_t memory_bytes() const;
  const std::vector<Consumer*>& consumers() const { return consumers_; }
  const QueueCounters& counters() const { return counters_; }

  // Set while one publish collects its queues, so a queue reached through
  // several bindings gets the message once (VHost::Publish).
  uint64_t route_mark = 0;

  enum class EnqueueResult { kAccepted, kRejected };
  // False when x-overflow reject-publish(-dlx) would refuse `message` now.
  bool Accepts(const Message& message) const;
  // Adds a routed message. kRejected when x-overflow reject-publish(-dlx)
  // refuses it (the publisher is nacked). `logged`: the message's record
  // was written for this queue (message->disk).
  EnqueueResult Enqueue(const MessagePtr& message, bool logged = false,
                        const Ticket& ticket = {});
  // Appends a message of a promoted mirror's copy (VHost::MoveHome), in
  // queue order, marked redelivered: the old home may have delivered it.
  void Adopt(const MessagePtr& message, bool logged);
  // Appends a message recovered from the store (paged out, in log order).
  void Restore(const RestoredMessage& m, int64_t wall_now_ms);

  // 403 when exclusivity forbids a new consumer (RabbitMQ: "in exclusive use").
  Status CanAddConsumer(bool exclusive) const;
  // Adds a consumer that CanAddConsumer allowed, and starts delivering to it.
  void AddConsumer(Consumer* consumer);
  // Removes and, for an auto-delete queue losing its last consumer, asks the
  // host to delete the queue.
  void RemoveConsumer(Consumer* consumer);
  // The single active consumer, if x-single-active-consumer is set.
  Consumer* active_consumer() const;

  // basic.get: the next unexpired message, counted unacked unless no_ack.
  std::optional<QueueEntry> Get(bool no_ack);
  // A delivered entry was acked: it leaves the queue for good.
  void Ack(QueueEntry& entry);
  // Returns delivered-unacked entries to the queue in their original order,
  // marked redelivered (nack/reject with requeue, recover, channel close).
  void Requeue(std::vector<QueueEntry> entries);
  // reject/nack without requeue: dead-letters with reason "rejected".
  void Reject(QueueEntry entry);
  // Drops every ready message; returns how many.
  size_t Purge();

  // Delivers ready messages to consumers that have credit.
  void TryDeliver();
  // Held: nothing is delivered or got (basic.get finds it empty) until
  // released; publishes and consumers are taken. A restarted member holds
  // the mirrored queues it homes until it has caught up with the metadata
  // log, which may have moved them (docs/mirroring.md, "A restarted home").
  void Hold(bool held);
  bool held() const { return held_; }
  // Marks the queue used now (basic.get, redeclare): restarts x-expires.
  void Touch();
  // Makes `policy` (nullptr: none) the one in effect: options().args become
  // the declared arguments overlaid with it (OverlayPolicy), at once. A new
  // message-ttl expires queued messages older than it, a new x-expires
  // restarts its timer, new length limits trim the queue (x-overflow
  // drop-head), lazy mode pages bodies out, and a new dead-letter target
  // takes the next dead letters.
  void ApplyPolicy(const Policy* policy, const std::string& operator_policy = {});
  // Called once by the vhost when it deletes the queue: cancels consumers,
  // drops messages and timers.
  void MarkDeleted();

 private:
  // A ready entry's body came into memory (sign +1) or left it (-1).
  void Resident(const QueueEntry& e, int sign) {
    int64_t delta = sign * int64_t{e.size};
    resident_count_ += sign;
    resident_bytes_ += delta;
    host_.ResidentBytesChanged(delta);
  }
  // `e` joins the queue's persistent figures if it counts as persistent.
  void Track(QueueEntry& e, bool persistent) {
    e.persistent = persistent;
    if (!persistent) return;
    ++persistent_count_;
    persistent_bytes_ += e.size;
  }
  // `e` left the queue for good (idempotent).
  void Untrack(QueueEntry& e) {
    if (!e.persistent) return;
    e.persistent = false;
    --persistent_count_;
    persistent_bytes_ -= e.size;
  }
  void Unacked(const QueueEntry& e, int sign) {
    if (sign > 0) {
      ++unacked_;
      unacked_bytes_ += e.size;
    } else {
      if (unacked_ > 0) --unacked_;
      unacked_bytes_ -= std::min<uint64_t>(unacked_bytes_, e.size);
    }
  }
  // Consumer capacity's bookkeeping (rabbit_queue_consumers' update_use):
  // the queue could deliver (`active`) or had messages no consumer could take.
  void Use(bool active) {
    if (use_active_ != active) SwitchUse(active);
  }
  void SwitchUse(bool active);
  std::deque<QueueEntry>& LevelFor(const QueueEntry& e);
  QueueEntry MakeEntry(const MessagePtr& message, bool logged);
  void MaybePageOut(QueueEntry& e);
  // Brings a paged-out body back; false (entry dropped) when unreadable.
  bool Load(QueueEntry& e);
  // Drops the entry's store reference: logged as gone, or released.
  void Forget(QueueEntry& e);
  void ClearReady();
  QueueEntry* Head();
  QueueEntry PopHead();
  void PushSorted(QueueEntry entry);
  Consumer* PickConsumer();
  bool DeliverTo(Consumer& c, QueueEntry entry);
  // When the entry expires: its own TTL or the queue's, whichever is first.
  int64_t Deadline(const QueueEntry& e) const;
  void PageOutReady();
  // Returns the time (NowMs) it read.
  int64_t DropExpiredHeads();
  void ArmExpiryTimer();
  void ArmUnusedTimer();
  void EnforceLimits();
  bool OverLimit(uint64_t extra_count, uint64_t extra_bytes) const;
  void DeadLetter(QueueEntry entry, const char* reason);

  QueueHost& host_;
  Runtime& runtime_;
  std::string vhost_;
  std::string name_;
  QueueOptions options_;  // args: effective (declared + policy)
  std::string policy_name_;
  std::string operator_policy_name_;

  std::vector<std::deque<QueueEntry>> levels_;  // index = priority
  size_t ready_count_ = 0;
  uint64_t ready_bytes_ = 0;
  uint64_t unacked_ = 0;
  int64_t resident_bytes_ = 0;
  int64_t resident_count_ = 0;
  uint64_t unacked_bytes_ = 0;
  uint64_t persistent_count_ = 0;
  uint64_t persistent_bytes_ = 0;
  uint64_t next_seq_ = 1;
  int64_t last_active_ms_ = 0;
  // Consumer capacity: the state since use_since_us_, the time active in the
  // last period before an inactive one, and the average so far.
  bool use_active_ = true;
  int64_t use_since_us_ = 0;
  int64_t use_active_us_ = 0;
  double use_avg_ = 1.0;

  std::vector<Consumer*> consumers_;
  size_t round_robin_ = 0;
  bool had_consumer_ = false;

  bool delivering_ = false;
  bool deliver_again_ = false;
  bool deleted_ = false;
  bool held_ = false;

  TimerId expiry_timer_ = 0;
  int64_t expiry_deadline_ = kNeverExpires;
  TimerId unused_timer_ = 0;
  QueueCounters counters_;
  QueueReplica* replica_ = nullptr;
};

}  // namespace warren::core
