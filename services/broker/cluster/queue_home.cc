#include "broker/cluster/queue_home.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "amqp/constants.h"
#include "amqp/field_table.h"
#include "amqp/wire.h"
#include "broker/cluster/forwarding.h"
#include "broker/cluster/queue_wire.h"
#include "broker/core/broker.h"
#include "broker/core/errors.h"
#include "common/text.h"

namespace warren::cluster {

using Op = v1::QueueOp;

namespace {

// Entries going back to their queues, grouped so that each queue re-sorts
// once.
using Requeues = std::map<std::shared_ptr<core::Queue>, std::vector<core::QueueEntry>>;

void RequeueEach(Requeues& requeues) {
  for (auto& [queue, entries] : requeues) queue->Requeue(std::move(entries));
}

}  // namespace

class QueueHome::Session final {
 public:
  Session(QueueHome& home, std::shared_ptr<HomeLink> link)
      : home_(home), broker_(home.broker_), link_(std::move(link)) {}

  ~Session() {
    // The caller is gone: its consumers go, and what they had not settled
    // goes back to its queues, as for a client whose connection closed.
    while (!consumers_.empty()) Cancel(consumers_.begin()->first);
    Requeues back;
    for (auto& [id, d] : deliveries_) back[d.queue].push_back(std::move(d.entry));
    deliveries_.clear();
    RequeueEach(back);
  }

  // False for an op a home does not take (ignored).
  bool Handle(Op& op) {
    switch (op.kind()) {
      case Op::PUBLISH: Publish(op); return true;
      case Op::CONSUME: Consume(op); return true;
      case Op::CREDIT: Credit(op.id(), op.count()); return true;
      case Op::SETTLE: Settle(op); return true;
      case Op::CANCEL: Cancel(op.id()); return true;
      case Op::GET: Get(op); return true;
      case Op::PURGE: Purge(op); return true;
      case Op::SYNC_MIRRORS:
      case Op::CANCEL_SYNC: SyncMirrors(op); return true;
      case Op::LEASE: Lease(op); return true;
      case Op::STAT: Stat(op); return true;
      case Op::CENSUS: Census(op); return true;
      case Op::PROPOSE: Propose(op); return true;
      case Op::DIRECT_REPLY: DirectReply(op); return true;
      case Op::MIRROR_RESET:
      case Op::MIRROR_ENTER:
      case Op::MIRROR_LEAVE: Mirror(op); return true;
      default: return false;
    }
  }

  // Before the link's frame goes: the publishes held since the last one.
  void FlushHeld() {
    if (held_through_ == 0) return;
    Op r = Reply(held_through_);
    r.set_through(true);
    held_through_ = 0;
    link_->Send(std::move(r));
  }

 private:
  // A consumer another member's client has on a queue homed here.
  class Remote final : public core::ConsumerSink {
   public:
    Remote(Session& session, uint64_t id) : session_(session), id_(id) {}
    bool HasCredit(const core::Consumer& c) const override {
      if (credit == 0 || session_.link_->ended() ||
          session_.link_->queued_bytes() > kHomeOutboxBytes)
        return false;
      return c.no_ack() || c.prefetch == 0 || c.unacked < c.prefetch;
    }
    void Deliver(core::Consumer& c, core::QueueEntry entry) override {
      session_.Deliver(*this, c, std::move(entry));
    }
    void Cancelled(core::Consumer&) override { session_.Cancelled(id_); }
    std::string Label() const override { return "cluster node " + session_.link_->caller(); }

    uint64_t id() const { return id_; }
    uint32_t credit = kCreditWindow;
    std::shared_ptr<core::Consumer> consumer;

   private:
    Session& session_;
    uint64_t id_;
  };

  struct Delivery {
    std::shared_ptr<core::Queue> queue;
    core::QueueEntry entry;
    uint64_t consumer = 0;  // 0: a get
  };

  // Queues an op for the caller; what a loop turn queued is written together.
  void Out(Op op) {
    link_->Send(std::move(op));
    home_.Flush(link_);
  }

  static Op Reply(uint64_t id) {
    Op r;
    r.set_kind(Op::REPLY);
    r.set_id(id);
    return r;
  }
  void Refuse(uint64_t id, const Error& e) {
    Op r = Reply(id);
    r.set_code(e.code == 0 ? 500 : e.code);
    r.set_text(e.text);
    Out(std::move(r));
  }
  // Publishes are answered in order: those held wait to go as one REPLY
  // `through` the last (FlushHeld); a refused one goes after them, alone.
  void Answer(uint64_t id, bool ok) {
    if (ok) {
      held_through_ = id;
      home_.Flush(link_);
      return;
    }
    FlushHeld();
    Op r = Reply(id);
    r.set_code(static_cast<uint32_t>(amqp::ReplyCode::kPreconditionFailed));
    Out(std::move(r));
  }

  // The queue named by a request, as the client's own node would check it
  // (404, 405 exclusive to another connection). A record of a queue homed
  // elsewhere is not this node's to serve: 404 too.
  Result<std::shared_ptr<core::Queue>> QueueOf(const Op& op) {
    if (!ShortString(op.vhost()) || op.queues_size() != 1 || !ShortString(op.queues(0)))
      return core::AmqpError(amqp::ReplyCode::kSyntaxError, "a Queues op names one queue");
    core::VHost* v = broker_.FindVHost(op.vhost());
    if (!v) return core::AmqpError(amqp::ReplyCode::kNotFound, "no vhost '" + op.vhost() + "'");
    auto q = v->GetQueue(op.queues(0), op.connection());
    if (q.ok() && q.value()->remote())
      return core::AmqpError(amqp::ReplyCode::kNotFound,
                             "queue '" + op.queues(0) + "' in vhost '" + op.vhost() +
                                 "' is not homed on this node");
    return q;
  }

  // The op's message, checked as a client's is (FromWire) and bounded as
  // this node bounds a client's; a refusal is counted for the frame's log.
  Result<core::MessagePtr> MessageOf(Op& op) {
    uint64_t max = std::min<uint64_t>(broker_.config().max_message_size, kMaxForwardedMessage);
    Result<core::MessagePtr> message = FromWire(*op.mutable_message(), max);
    if (!message.ok()) {
      ++refused;
      refusal = message.error().text;
    }
    return message;
  }

  // A reply for a direct reply-to consumer of this node: delivered, or
  // dropped when the key names none (its client went), as on one node.
  void DirectReply(Op& op) {
    Result<core::MessagePtr> message = MessageOf(op);
    if (!message.ok()) return;
    if (core::DirectReplySink* sink = broker_.FindReplyTo(message.value()->routing_key))
      sink->DeliverReply(message.value());
  }

  void Publish(Op& op) {
    core::Ticket ticket = core::NewTicket();
    core::VHost* v = ShortString(op.vhost()) ? broker_.FindVHost(op.vhost()) : nullptr;
    Result<core::MessagePtr> message = MessageOf(op);
    if (!message.ok()) {
      ticket->Refuse();
    } else if (v) {
      std::vector<std::string> names;
      for (const std::string& name : op.queues())
        if (ShortString(name)) names.push_back(name);
      // Counted (received, routed) by the client's channel, on its node,
      // as RabbitMQ counts its global message stats: not again here.
      v->PublishTo(names, message.value(), ticket);
    }
    AnswerWhenDone(op.id(), ticket);
  }

  // Answered in order: after every earlier publish, once its ticket is done.
  void AnswerWhenDone(uint64_t id, const core::Ticket& ticket) {
    const uint64_t key = awaiting_.next_key();
    std::weak_ptr<bool> alive = alive_;
    bool done = broker_.durability().Await(ticket, [this, alive, key](bool ok) {
      if (alive.expired() || !awaiting_.Done(key, ok)) return;
      AnswerDone();
    });
    if (done && awaiting_.empty()) {
      Answer(id, ticket->ok());
      return;
    }
    awaiting_.Add(id, done, ticket->ok());
  }

  // The home of a queue this member mirrors feeds the copy
  // (docs/mirroring.md, "Replication").
  void Mirror(Op& op) {
    if (op.queues_size() != 1 || !ShortString(op.vhost()) || !ShortString(op.queues(0))) {
      if (op.kind() == Op::MIRROR_ENTER) Answer(op.id(), false);
      return;
    }
    MirrorCopies& copies = home_.copies_;
    const std::string& queue = op.queues(0);
    // Only for a queue this member mirrors (what copies may cost is bounded
    // by the queues the metadata gives it), from its home.
    auto is_caller = [this](uint64_t home) {
      return broker_.remote() && broker_.remote()->NodeName(home) == link_->caller();
    };
    if (!MirrorCopies::FedBy(broker_, op.vhost(), queue, is_caller)) {
      if (op.kind() == Op::MIRROR_ENTER) Answer(op.id(), false);
      return;
    }
    switch (op.kind()) {
      case Op::MIRROR_RESET: copies.Reset(op.vhost(), queue, op.term()); return;
      case Op::MIRROR_LEAVE:
        copies.Leave(op.vhost(), queue, {op.deliveries().begin(), op.deliveries().end()});
        return;
      default: break;
    }
    core::Ticket ticket = core::NewTicket();
    Result<core::MessagePtr> message = MessageOf(op);
    if (!message.ok() || !copies.Enter(op.vhost(), queue, op.delivery(), message.value(), ticket))
      ticket->Refuse();
    AnswerWhenDone(op.id(), ticket);
  }

  void AnswerDone() {
    awaiting_.Drain([this](uint64_t id, bool ok) {
      Answer(id, ok);
      return true;
    });
  }

  void Consume(Op& op) {
    if (consumers_.count(op.id()) || !ShortString(op.tag())) {
      Refuse(op.id(), core::AmqpError(amqp::ReplyCode::kNotAllowed, "consumer id in use"));
      return;
    }
    auto q = QueueOf(op);
    if (!q.ok()) return Refuse(op.id(), q.error());
    std::shared_ptr<core::Queue> queue = q.value();
    if (Status s = queue->CanAddConsumer(op.exclusive()); !s.ok())
      return Refuse(op.id(), s.error());
    amqp::FieldTable arguments;
    if (!op.arguments().empty()) {
      amqp::Reader r(op.arguments());
      if (!amqp::DecodeTable(r, arguments) || r.remaining() != 0)
        return Refuse(op.id(), core::AmqpError(amqp::ReplyCode::kSyntaxError,
                                               "consumer arguments that do not decode"));
    }
    auto remote = std::make_unique<Remote>(*this, op.id());
    remote->consumer = std::make_shared<core::Consumer>(*remote, op.tag(), op.no_ack(),
                                                        op.exclusive(), op.priority());
    remote->consumer->prefetch = static_cast<uint16_t>(std::min<uint32_t>(op.prefetch(), 65535));
    remote->consumer->arguments = std::move(arguments);
    remote->consumer->queue = queue;
    core::Consumer* consumer = remote->consumer.get();
    consumers_[op.id()] = std::move(remote);
    // The answer goes before the first delivery.
    Out(Reply(op.id()));
    queue->AddConsumer(consumer);
  }

  void Deliver(Remote& remote, core::Consumer& c, core::QueueEntry entry) {
    uint64_t delivery = ++home_.next_delivery_;
    Op d;
    d.set_kind(Op::DELIVER);
    d.set_id(remote.id());
    d.set_delivery(delivery);
    d.set_redelivered(entry.redelivered);
    ToWire(*entry.message, *d.mutable_message());
    --remote.credit;  // delivered: counted by the client's channel
    if (!c.no_ack()) {
      ++c.unacked;
      deliveries_[delivery] = Delivery{c.queue, std::move(entry), remote.id()};
    }
    Out(std::move(d));
  }

  // The consumer's queue went away.
  void Cancelled(uint64_t id) {
    auto it = consumers_.find(id);
    if (it == consumers_.end()) return;
    Op c;
    c.set_kind(Op::CANCELLED);
    c.set_id(id);
    Out(std::move(c));
    consumers_.erase(it);
  }

  void Cancel(uint64_t id) {
    auto it = consumers_.find(id);
    if (it == consumers_.end()) return;
    std::unique_ptr<Remote> remote = std::move(it->second);
    consumers_.erase(it);
    // Its unsettled deliveries stay until settled (or the stream ends).
    remote->consumer->queue->RemoveConsumer(remote->consumer.get());
  }

  void Credit(uint64_t id, uint32_t count) {
    auto it = consumers_.find(id);
    if (it == consumers_.end()) return;
    Remote& r = *it->second;
    r.credit = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{r.credit} + count, kCreditWindow));
    r.consumer->queue->TryDeliver();
  }

  void Settle(Op& op) {
    std::vector<std::shared_ptr<core::Queue>> touched;
    Requeues requeue;
    for (uint64_t id : op.deliveries()) {
      auto it = deliveries_.find(id);
      if (it == deliveries_.end()) continue;  // settled already, or of an earlier stream
      Delivery d = std::move(it->second);
      deliveries_.erase(it);
      if (auto c = consumers_.find(d.consumer); c != consumers_.end() && d.consumer != 0) {
        core::Consumer& consumer = *c->second->consumer;
        if (consumer.unacked > 0) --consumer.unacked;
      }
      if (std::find(touched.begin(), touched.end(), d.queue) == touched.end())
        touched.push_back(d.queue);
      switch (op.settle()) {
        case Op::ACK:
          d.queue->Ack(d.entry);  // counted by the client's channel
          break;
        case Op::REJECT: d.queue->Reject(std::move(d.entry)); break;
        default: requeue[d.queue].push_back(std::move(d.entry)); break;
      }
    }
    RequeueEach(requeue);
    // A consumer held back by its prefetch may take more now.
    for (auto& q : touched) q->TryDeliver();
  }

  void Get(Op& op) {
    auto q = QueueOf(op);
    if (!q.ok()) return Refuse(op.id(), q.error());
    std::shared_ptr<core::Queue> queue = q.value();
    std::optional<core::QueueEntry> entry = queue->Get(op.no_ack());
    Op r = Reply(op.id());
    r.set_count(static_cast<uint32_t>(queue->ready_count()));
    if (entry) {
      uint64_t delivery = ++home_.next_delivery_;
      r.set_found(true);
      r.set_delivery(delivery);
      r.set_redelivered(entry->redelivered);
      ToWire(*entry->message, *r.mutable_message());  // counted by the client's channel
      if (!op.no_ack()) deliveries_[delivery] = Delivery{queue, std::move(*entry), 0};
    }
    Out(std::move(r));
  }

  void Propose(Op& op) {
    if (!home_.propose_) {
      Op r = Reply(op.id());
      r.set_code(503);
      r.set_text("this node runs no Raft group");
      Out(std::move(r));
      return;
    }
    // Answered after commit, perhaps once this stream is gone (dropped then)
    // or this home is (the link alone is kept).
    home_.propose_(std::move(*op.mutable_command()),
                   [link = link_, id = op.id()](ForwardResult result) {
                     Op r = Reply(id);
                     r.set_index(result.index);
                     r.set_term(result.term);
                     r.set_appended(result.appended);
                     if (!result.outcome.status.ok()) {
                       r.set_code(result.outcome.status.error().code);
                       r.set_text(result.outcome.status.error().text);
                     }
                     r.set_count(result.outcome.message_count);
                     r.set_consumers(result.outcome.consumer_count);
                     link->Send(std::move(r));
                     link->Flush();
                   });
  }

  void Purge(Op& op) {
    auto q = QueueOf(op);
    if (!q.ok()) return Refuse(op.id(), q.error());
    Op r = Reply(op.id());
    r.set_count(static_cast<uint32_t>(q.value()->Purge()));
    Out(std::move(r));
  }

  // The caller, by the name its handshake proved, renews its lease.
  void Lease(Op& op) {
    std::optional<uint64_t> commit = home_.renew_ ? home_.renew_(link_->caller()) : std::nullopt;
    if (commit) {
      Op r = Reply(op.id());
      r.set_index(*commit);
      return Out(std::move(r));
    }
    Refuse(op.id(), Error{503, "this node does not lead the metadata with a lease"});
  }

  // This node's part of a cluster-wide connection limit (Broker::ClusterCensus).
  void Census(const Op& op) {
    core::ConnectionCensus c = broker_.LocalCensus(op.vhost(), op.user());
    Op r = Reply(op.id());
    r.set_vhost_connections(c.vhost_connections);
    r.set_user_connections(c.user_connections);
    r.set_user_channels(c.user_channels);
    Out(std::move(r));
  }

  void SyncMirrors(Op& op) {
    auto q = QueueOf(op);
    if (!q.ok()) return Refuse(op.id(), q.error());
    core::MirrorSync* sync = broker_.mirror_sync();
    Status s = sync ? sync->SyncMirrors(op.vhost(), op.queues(0), op.kind() == Op::CANCEL_SYNC)
                    : core::AmqpError(amqp::ReplyCode::kPreconditionFailed,
                                      "queue '" + op.queues(0) + "' is not mirrored");
    if (!s.ok()) return Refuse(op.id(), s.error());
    Out(Reply(op.id()));
  }

  // A caller asks right after its own node applied the queue's creation
  // (a declare's counts): this member may not have applied it yet. Not
  // found, it asks once more after a barrier (docs/cluster.md, "A barrier").
  void Stat(Op& op, bool after_barrier = false) {
    auto q = QueueOf(op);
    if (!q.ok() && !after_barrier &&
        q.error().code == static_cast<uint16_t>(amqp::ReplyCode::kNotFound)) {
      std::weak_ptr<bool> alive = alive_;
      broker_.metadata().Barrier([this, alive, again = op]() mutable {
        if (!alive.expired()) Stat(again, true);
      });
      return;
    }
    if (!q.ok()) return Refuse(op.id(), q.error());
    q.value()->Touch();
    Op r = Reply(op.id());
    r.set_count(static_cast<uint32_t>(q.value()->ready_count()));
    r.set_consumers(static_cast<uint32_t>(q.value()->consumer_count()));
    r.set_unacked(static_cast<uint32_t>(q.value()->unacked_count()));
    Out(std::move(r));
  }

 public:
  // Publishes refused since the last frame was logged, and the last reason.
  int refused = 0;
  std::string refusal;

 private:
  QueueHome& home_;
  core::Broker& broker_;
  std::shared_ptr<HomeLink> link_;
  std::map<uint64_t, std::unique_ptr<Remote>> consumers_;
  std::map<uint64_t, Delivery> deliveries_;
  core::InOrder<uint64_t> awaiting_;  // publishes' op ids
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  uint64_t held_through_ = 0;  // the last publish held and not yet answered; 0: none
};

QueueHome::QueueHome(core::Broker& broker, std::function<void(std::function<void()>)> post,
                     Propose propose, Renew renew)
    : broker_(broker), copies_(broker), post_(std::move(post)), propose_(std::move(propose)),
      renew_(std::move(renew)) {
  // Before any op arrives: what the store kept of this member's copies.
  if (size_t n = copies_.Recover(); n > 0)
    spdlog::info("cluster: recovered {} messages of this member's mirror copies", n);
  // Above every id this node gave out before it restarted (at fewer than
  // 65,536 deliveries a millisecond), so a settlement a caller sent before
  // then matches nothing now.
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  next_delivery_ = static_cast<uint64_t>(ms) << 16;
}

QueueHome::~QueueHome() {
  sessions_.clear();
  *alive_ = false;
}

void QueueHome::Flush(const std::shared_ptr<HomeLink>& link) {
  unflushed_.insert(link);
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  post_([this, alive] {
    if (alive.expired()) return;
    flush_scheduled_ = false;
    std::set<std::shared_ptr<HomeLink>> links;
    links.swap(unflushed_);
    for (const auto& l : links) {
      if (auto it = sessions_.find(l.get()); it != sessions_.end()) it->second->FlushHeld();
      l->Flush();
    }
  });
}

void QueueHome::Receive(const std::shared_ptr<HomeLink>& link, v1::QueueFrame* frame) {
  auto it = sessions_.find(link.get());
  if (!frame) {
    if (it != sessions_.end()) sessions_.erase(it);
    return;
  }
  if (it == sessions_.end()) {
    if (link->ended()) return;
    it = sessions_.emplace(link.get(), std::make_unique<Session>(*this, link)).first;
  }
  if (static_cast<size_t>(frame->ops_size()) > kMaxOpsPerFrame) {
    spdlog::warn("cluster: node {} sent a Queues frame of {} ops; its stream is dropped",
                 LogSafe(link->caller()), frame->ops_size());
    sessions_.erase(it);
    link->End();
    return;
  }
  Session& session = *it->second;
  int ignored = 0;
  for (v1::QueueOp& op : *frame->mutable_ops())
    if (!session.Handle(op)) ++ignored;
  // Once a frame, so a peer cannot flood the log.
  if (ignored > 0)
    spdlog::warn("cluster: node {} sent {} Queues ops a home does not take; ignored",
                 LogSafe(link->caller()), ignored);
  if (session.refused > 0)
    spdlog::warn("cluster: refused {} publishes from node {}: {}", session.refused,
                 LogSafe(link->caller()), session.refusal);
  session.refused = 0;
  link->ReadNext();
}

}  // namespace warren::cluster
