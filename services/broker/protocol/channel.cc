#include "broker/protocol/channel.h"

#include <algorithm>

#include "amqp/constants.h"
#include "amqp/frame.h"
#include "broker/core/errors.h"
#include "broker/protocol/connection.h"

namespace warren::protocol {

using amqp::ReplyCode;
using core::AmqpError;

Channel::Channel(Connection& connection, uint16_t number)
    : connection_(connection), number_(number), last_active_ms_(connection.runtime().NowMs()) {
  ++connection_.broker().counters().channels_opened;
}

Channel::~Channel() {
  Shutdown();
  core::BrokerCounters& c = connection_.broker().counters();
  ++c.channels_closed;
  if (publishing_) --c.publishers;
}

core::VHost& Channel::vhost() { return *connection_.vhost(); }

std::string& Channel::Out() { return connection_.output(); }
void Channel::Sent() { connection_.Send(); }

namespace {

// Methods that look a queue or exchange up on this node, without a change
// through the metadata gate, and that a cluster member answers after a
// barrier before refusing for not found (docs/cluster.md, "A barrier"): a
// queue or exchange declared through another member a moment ago may not
// have been applied here yet.
bool LooksUp(const amqp::Method& method) {
  using namespace amqp;
  if (auto* d = std::get_if<QueueDeclare>(&method)) return d->passive;
  if (auto* d = std::get_if<ExchangeDeclare>(&method)) return d->passive;
  return std::holds_alternative<BasicConsume>(method) ||
         std::holds_alternative<BasicGet>(method) ||
         std::holds_alternative<BasicPublish>(method) ||
         std::holds_alternative<QueuePurge>(method);
}

}  // namespace

Status Channel::OnMethod(amqp::Method& method) {
  last_active_ms_ = connection_.batch_read_ms();
  Status s = Dispatch(method);
  if (s.ok() || s.error().code != static_cast<uint16_t>(ReplyCode::kNotFound) ||
      connection_.broker().self_member() == 0 || !LooksUp(method))
    return s;
  // Once more, after this node has applied what any member acknowledged.
  // (These methods refuse for not found before they take anything from
  // `method`, so it is still whole.)
  amqp::Method copy = method;
  return Await(amqp::ClassIdOf(copy), amqp::MethodIdOf(copy), [&](Finish finish) {
    connection_.broker().metadata().Barrier([this, finish, copy = std::move(copy)]() mutable {
      finish([&] { return Dispatch(copy); });
    });
  });
}

Status Channel::Dispatch(amqp::Method& method) {
  using namespace amqp;
  return std::visit(
      [&](auto& m) -> Status {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, ExchangeDeclare>) return HandleExchangeDeclare(m);
        else if constexpr (std::is_same_v<M, ExchangeDelete>) return HandleExchangeDelete(m);
        else if constexpr (std::is_same_v<M, ExchangeBind>) return HandleExchangeBind(m, true);
        else if constexpr (std::is_same_v<M, ExchangeUnbind>) {
          amqp::ExchangeBind b{m.ticket, m.destination, m.source, m.routing_key, m.no_wait,
                               m.arguments};
          return HandleExchangeBind(b, false);
        }
        else if constexpr (std::is_same_v<M, QueueDeclare>) return HandleQueueDeclare(m);
        else if constexpr (std::is_same_v<M, QueueBind>) return HandleQueueBind(m);
        else if constexpr (std::is_same_v<M, QueueUnbind>) return HandleQueueUnbind(m);
        else if constexpr (std::is_same_v<M, QueuePurge>) return HandleQueuePurge(m);
        else if constexpr (std::is_same_v<M, QueueDelete>) return HandleQueueDelete(m);
        else if constexpr (std::is_same_v<M, BasicQos>) return HandleBasicQos(m);
        else if constexpr (std::is_same_v<M, BasicConsume>) return HandleBasicConsume(m);
        else if constexpr (std::is_same_v<M, BasicCancel>) return HandleBasicCancel(m);
        else if constexpr (std::is_same_v<M, BasicPublish>) return HandleBasicPublish(m);
        else if constexpr (std::is_same_v<M, BasicGet>) return HandleBasicGet(m);
        else if constexpr (std::is_same_v<M, BasicAck>)
          return Settle(TxAck::kAck, m.delivery_tag, m.multiple);
        else if constexpr (std::is_same_v<M, BasicReject>)
          return Settle(m.requeue ? TxAck::kRequeue : TxAck::kReject, m.delivery_tag, false);
        else if constexpr (std::is_same_v<M, BasicNack>)
          return Settle(m.requeue ? TxAck::kRequeue : TxAck::kReject, m.delivery_tag, m.multiple);
        else if constexpr (std::is_same_v<M, BasicRecover>) return HandleBasicRecover(m.requeue, true);
        else if constexpr (std::is_same_v<M, BasicRecoverAsync>)
          return HandleBasicRecover(m.requeue, false);
        else if constexpr (std::is_same_v<M, ChannelFlow>) {
          // RabbitMQ 3.x refuses to stop deliveries this way (use prefetch).
          if (!m.active) return AmqpError(ReplyCode::kNotImplemented, "active=false");
          Reply(ChannelFlowOk{true});
          return Status::Ok();
        } else if constexpr (std::is_same_v<M, ChannelFlowOk>) {
          return Status::Ok();
        } else if constexpr (std::is_same_v<M, BasicCancelOk>) {
          return HandleBasicCancelOk(m);
        } else if constexpr (std::is_same_v<M, ConfirmSelect>) {
          if (tx_mode_)
            return AmqpError(ReplyCode::kPreconditionFailed,
                             "cannot switch from tx to confirm mode");
          confirm_mode_ = true;
          if (!m.no_wait) Reply(ConfirmSelectOk{});
          return Status::Ok();
        } else if constexpr (std::is_same_v<M, TxSelect>) {
          if (confirm_mode_)
            return AmqpError(ReplyCode::kPreconditionFailed,
                             "cannot switch from confirm to tx mode");
          tx_mode_ = true;
          Reply(TxSelectOk{});
          return Status::Ok();
        } else if constexpr (std::is_same_v<M, TxCommit>) return HandleTxCommit();
        else if constexpr (std::is_same_v<M, TxRollback>) return HandleTxRollback();
        else {
          // Methods only a server sends, or that make no sense here.
          return AmqpError(ReplyCode::kCommandInvalid,
                           "unexpected method " +
                               std::string(amqp::MethodName(ClassIdOf(method),
                                                            MethodIdOf(method))));
        }
      },
      method);
}

Status Channel::OnContentHeader(std::string_view payload) {
  PendingPublish& p = *publish_;
  if (p.have_header)
    return AmqpError(ReplyCode::kUnexpectedFrame,
                     "expected content body, got non content body frame instead");
  uint16_t class_id = 0;
  std::string_view raw;
  // Spec 4.2.6.1: the weight "is unused and must be zero"; RabbitMQ treats
  // any other header as not the one it expected.
  if (payload.size() >= 4 && (payload[2] != 0 || payload[3] != 0))
    return AmqpError(ReplyCode::kUnexpectedFrame,
                     "expected content header for class 60, got non content header frame "
                     "instead");
  if (!amqp::SplitContentHeader(payload, class_id, p.body_size, raw) ||
      !amqp::DecodeProperties(raw, p.properties))
    return AmqpError(ReplyCode::kFrameError, "cannot decode content header");
  if (class_id != amqp::BasicPublish::kClassId)
    return AmqpError(ReplyCode::kUnexpectedFrame,
                     "content header for class " + std::to_string(class_id) +
                         " does not follow basic.publish");
  uint64_t max = connection_.broker().config().max_message_size;
  if (p.body_size > max)
    return AmqpError(ReplyCode::kPreconditionFailed,
                     "message size " + std::to_string(p.body_size) +
                         " is larger than configured max size " + std::to_string(max));
  p.raw_properties.assign(raw);
  p.have_header = true;
  p.body.reserve(std::min<uint64_t>(p.body_size, 1 << 20));
  if (p.body_size == 0) return FinishPublish();
  return Status::Ok();
}

Status Channel::OnContentBody(std::string_view payload) {
  PendingPublish& p = *publish_;
  if (!p.have_header)
    return AmqpError(ReplyCode::kUnexpectedFrame,
                     "expected content header for class 60, got non content header frame "
                     "instead");
  if (p.body.size() + payload.size() > p.body_size)
    return AmqpError(ReplyCode::kFrameError, "content body exceeds the size in its header");
  p.body.append(payload);
  if (p.body.size() == p.body_size) return FinishPublish();
  return Status::Ok();
}

void Channel::Count(uint64_t core::MessageCounters::*counter) {
  ++(connection_.broker().counters().*counter);
  ++(counted_.*counter);
}

void Channel::CountDelivery(bool redelivered, uint64_t core::MessageCounters::*kind) {
  Count(&core::MessageCounters::messages_delivered);
  Count(kind);
  if (redelivered) Count(&core::MessageCounters::messages_redelivered);
}

core::ChannelInfo Channel::Describe() const {
  core::ChannelInfo info;
  info.number = number_;
  info.transactional = tx_mode_;
  info.confirm = confirm_mode_;
  info.consumers = static_cast<uint32_t>(consumers_.size());
  info.unacked = unacked_.size();
  info.prefetch = prefetch_count_;
  info.global_prefetch = global_prefetch_;
  if (confirm_mode_) info.unconfirmed = next_publish_seq_ - 1 - confirmed_;
  info.uncommitted_messages = tx_publishes_.size();
  info.uncommitted_acks = tx_acks_.size();
  info.counters = counted_;
  int64_t idle = connection_.runtime().NowMs() - last_active_ms_;
  if (idle >= core::Queue::kIdleAfterMs) info.idle_ms = idle;
  return info;
}

std::string Channel::Label() const {
  return connection_.name() + " (" + std::to_string(number_) + ")";
}

bool Channel::HasCredit(const core::Consumer& c) const {
  if (closing_ || shut_down_ || connection_.backlogged()) return false;
  if (c.no_ack()) return true;
  if (c.prefetch != 0 && c.unacked >= c.prefetch) return false;
  if (global_prefetch_ != 0 && consumer_unacked_ >= global_prefetch_) return false;
  return true;
}

void Channel::Deliver(core::Consumer& c, core::QueueEntry entry) {
  last_active_ms_ = connection_.runtime().NowMs();
  uint64_t tag = next_delivery_tag_++;
  std::string& out = connection_.output();
  const core::Message& m = *entry.message;
  amqp::BasicDeliver d;
  d.consumer_tag = c.tag();
  d.delivery_tag = tag;
  d.redelivered = entry.redelivered;
  d.exchange = m.exchange;
  d.routing_key = m.routing_key;
  CountDelivery(entry.redelivered,
                c.no_ack() ? &core::MessageCounters::messages_delivered_consume_auto_ack
                           : &core::MessageCounters::messages_delivered_consume_manual_ack);
  amqp::AppendMethodFrame(out, number_, d);
  SendContent(m);
  if (!c.no_ack()) {
    ++c.unacked;
    ++consumer_unacked_;
    unacked_.emplace(tag, Unacked{c.queue, std::move(entry), c.shared_from_this()});
  }
}

void Channel::SendContent(const core::Message& m) {
  amqp::AppendContent(connection_.output(), number_, amqp::BasicPublish::kClassId,
                      m.raw_properties, m.body, connection_.frame_max());
  connection_.Send();
}

void Channel::Cancelled(core::Consumer& c) {
  auto it = consumers_.find(c.tag());
  if (it == consumers_.end()) return;
  std::string tag = c.tag();
  // The queue is gone; its unacked entries stay until acked (acks then
  // only count) so delivery tags keep their meaning.
  consumers_.erase(it);
  if (connection_.client_has("consumer_cancel_notify"))
    connection_.NotifyConsumerCancelled(number_, tag);
}

void Channel::DeliverReply(const core::MessagePtr& message) {
  amqp::BasicDeliver d;
  d.consumer_tag = reply_to_consumer_tag_;
  d.delivery_tag = next_delivery_tag_++;
  d.exchange = message->exchange;
  d.routing_key = message->routing_key;
  amqp::AppendMethodFrame(connection_.output(), number_, d);
  SendContent(*message);
}

void Channel::ResumeDeliveries() {
  ReleaseHeldRemote();
  std::vector<std::shared_ptr<core::Queue>> queues;
  core::QueueRemote* remote = connection_.broker().remote();
  for (auto& [tag, c] : consumers_) {
    if (!c->queue->remote()) {
      queues.push_back(c->queue);
    } else if (c->remote_credit_owed > 0 && remote && !connection_.backlogged()) {
      remote->Credit(c->queue->home(), c->remote_id, c->remote_credit_owed);
      c->remote_credit_owed = 0;
    }
  }
  for (auto& q : queues) q->TryDeliver();
}

void Channel::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  publish_.reset();
  awaiting_.Clear();
  if (!reply_to_key_.empty()) {
    connection_.broker().UnregisterReplyTo(reply_to_key_);
    reply_to_key_.clear();
  }
  while (!consumers_.empty()) RemoveConsumer(consumers_.begin());
  RequeueHeldRemote(nullptr);
  std::vector<Unacked> pending;
  pending.reserve(unacked_.size());
  for (auto& [tag, u] : unacked_) pending.push_back(std::move(u));
  unacked_.clear();
  RequeueAll(std::move(pending));
  tx_publishes_.clear();
  tx_acks_.clear();
}

}  // namespace warren::protocol
