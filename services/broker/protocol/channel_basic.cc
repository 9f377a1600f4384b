// The basic, confirm and tx classes of a Channel: consumers and prefetch,
// publishing (routing, mandatory returns, confirms, direct reply-to), gets,
// acknowledgements, recover and transactions.
#include <openssl/rand.h>

#include "amqp/constants.h"
#include "broker/core/errors.h"
#include "broker/protocol/channel.h"
#include "broker/protocol/connection.h"

namespace warren::protocol {

using amqp::ReplyCode;
using core::Access;
using core::AmqpError;

namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// RabbitMQ's reason for refusing an expiration property.
std::string ExpirationError(const std::string& text) {
  if (text.starts_with('-')) return "{value_negative," + text + "}";
  bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  return digits ? "{value_too_big," + text + "}" : "{error,badarg}";
}

}  // namespace

std::string Channel::NewConsumerTag() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char raw[22];
  RAND_bytes(raw, sizeof raw);
  std::string tag = "amq.ctag-";
  for (unsigned char c : raw) tag.push_back(kAlphabet[c & 63]);
  return tag;
}

Status Channel::HandleBasicQos(const amqp::BasicQos& m) {
  if (m.prefetch_size != 0)
    return AmqpError(ReplyCode::kNotImplemented,
                     "prefetch_size!=0 (" + std::to_string(m.prefetch_size) + ")");
  // RabbitMQ's reading of the spec: global=false limits each consumer created
  // from now on; global=true limits the whole channel.
  if (m.global) global_prefetch_ = m.prefetch_count;
  else prefetch_count_ = m.prefetch_count;
  Reply(amqp::BasicQosOk{});
  ResumeDeliveries();
  return Status::Ok();
}

Status Channel::HandleBasicConsume(amqp::BasicConsume& m) {
  if (m.queue == core::kReplyToQueue) return ConsumeReplyTo(m);
  if (Status s = Check(Access::kRead, m.queue, "queue"); !s.ok()) return s;
  auto q = vhost().GetQueue(m.queue, connection_.id());
  if (!q.ok()) return q.status();
  std::string tag = m.consumer_tag.empty() ? NewConsumerTag() : m.consumer_tag;
  if (consumers_.count(tag) || tag == reply_to_consumer_tag_)
    return AmqpError(ReplyCode::kNotAllowed, "attempt to reuse consumer tag '" + tag + "'");
  int priority = 0;
  if (const amqp::FieldValue* p = m.arguments.Find("x-priority")) {
    auto v = p->AsInt();
    if (!v || *v < INT32_MIN || *v > INT32_MAX)
      return AmqpError(ReplyCode::kPreconditionFailed,
                       "invalid arg 'x-priority' for consumer '" + tag + "'");
    priority = static_cast<int>(*v);
  }
  std::shared_ptr<core::Queue> queue = q.value();
  if (Status s = queue->CanAddConsumer(m.exclusive); !s.ok()) return s;
  auto c = std::make_shared<core::Consumer>(*this, tag, m.no_ack, m.exclusive, priority);
  c->prefetch = prefetch_count_;
  c->queue = queue;
  c->arguments = std::move(m.arguments);
  consumers_[tag] = c;
  // consume-ok must precede the first delivery.
  if (!m.no_wait) Reply(amqp::BasicConsumeOk{tag});
  queue->AddConsumer(c.get());
  return Status::Ok();
}

Status Channel::ConsumeReplyTo(const amqp::BasicConsume& m) {
  if (!m.no_ack)
    return AmqpError(ReplyCode::kPreconditionFailed, "reply consumer cannot acknowledge");
  if (!reply_to_key_.empty())
    return AmqpError(ReplyCode::kPreconditionFailed, "reply consumer already set");
  std::string tag = m.consumer_tag.empty() ? NewConsumerTag() : m.consumer_tag;
  if (consumers_.count(tag))
    return AmqpError(ReplyCode::kNotAllowed, "attempt to reuse consumer tag '" + tag + "'");
  reply_to_key_ = connection_.broker().RegisterReplyTo(this);
  reply_to_consumer_tag_ = tag;
  if (!m.no_wait) Reply(amqp::BasicConsumeOk{tag});
  return Status::Ok();
}

void Channel::RemoveConsumer(
    std::unordered_map<std::string, std::shared_ptr<core::Consumer>>::iterator it) {
  std::shared_ptr<core::Consumer> c = std::move(it->second);
  consumers_.erase(it);
  c->queue->RemoveConsumer(c.get());
}

Status Channel::HandleBasicCancel(const amqp::BasicCancel& m) {
  if (!reply_to_key_.empty() && m.consumer_tag == reply_to_consumer_tag_) {
    connection_.broker().UnregisterReplyTo(reply_to_key_);
    reply_to_key_.clear();
    reply_to_consumer_tag_.clear();
  } else if (auto it = consumers_.find(m.consumer_tag); it != consumers_.end()) {
    RemoveConsumer(it);
  }
  if (!m.no_wait) Reply(amqp::BasicCancelOk{m.consumer_tag});
  return Status::Ok();
}

// A client answering a server-sent basic.cancel (some clients answer every
// basic.cancel, whatever its no-wait). RabbitMQ 3.x closed the connection
// for it (503); RabbitMQ 4 accepts it, as Warren does: the consumer is
// normally gone already; one still live is cancelled, without a reply.
Status Channel::HandleBasicCancelOk(const amqp::BasicCancelOk& m) {
  if (auto it = consumers_.find(m.consumer_tag); it != consumers_.end()) RemoveConsumer(it);
  return Status::Ok();
}

Status Channel::HandleBasicPublish(amqp::BasicPublish& m) {
  if (m.immediate) return AmqpError(ReplyCode::kNotImplemented, "immediate=true");
  connection_.NotePublish();
  if (!m.exchange.empty()) {
    core::Exchange* e = vhost().FindExchange(m.exchange);
    if (!e)
      return AmqpError(ReplyCode::kNotFound,
                       "no exchange '" + m.exchange + "' in vhost '" + vhost().name() + "'");
    if (e->internal())
      return AmqpError(ReplyCode::kAccessRefused, "cannot publish to internal exchange '" +
                                                      m.exchange + "' in vhost '" +
                                                      vhost().name() + "'");
  }
  // Publishers mostly repeat one exchange: remember the last answer until
  // an operator changes permissions.
  uint64_t epoch = connection_.broker().permissions_epoch();
  if (!last_write_checked_ || *last_write_checked_ != m.exchange || last_write_epoch_ != epoch) {
    Status allowed = Check(Access::kWrite, m.exchange, "exchange");
    if (!allowed.ok()) return allowed;
    last_write_checked_ = m.exchange;
    last_write_epoch_ = epoch;
  }
  publish_.emplace();
  publish_->method = std::move(m);
  return Status::Ok();
}

Status Channel::FinishPublish() {
  PendingPublish p = std::move(*publish_);
  publish_.reset();
  const std::string& user = connection_.user();
  if (p.properties.user_id && *p.properties.user_id != user)
    return AmqpError(ReplyCode::kPreconditionFailed, "user_id property set to '" +
                                                         *p.properties.user_id +
                                                         "' but authenticated user was '" +
                                                         user + "'");
  auto message = std::make_shared<core::Message>();
  if (p.properties.expiration) {
    int64_t ttl = 0;
    if (!core::ParseExpiration(*p.properties.expiration, ttl))
      return AmqpError(ReplyCode::kPreconditionFailed,
                       "invalid expiration '" + *p.properties.expiration +
                           "': " + ExpirationError(*p.properties.expiration));
    message->ttl_ms = ttl;
  }
  if (p.properties.reply_to && *p.properties.reply_to == core::kReplyToQueue) {
    if (reply_to_key_.empty())
      return AmqpError(ReplyCode::kPreconditionFailed, "fast reply consumer does not exist");
    p.properties.reply_to = reply_to_key_;
    p.raw_properties.clear();
    amqp::EncodeProperties(p.properties, p.raw_properties);
  }
  message->exchange = std::move(p.method.exchange);
  message->routing_key = std::move(p.method.routing_key);
  message->SetProperties(std::move(p.raw_properties), p.properties);
  message->body = std::move(p.body);
  ++connection_.broker().counters().messages_received;
  uint64_t seq = confirm_mode_ ? next_publish_seq_++ : 0;
  if (tx_mode_) {
    tx_publishes_.push_back(TxPublish{message->exchange, p.method.mandatory, message});
    return Status::Ok();
  }
  return Route(message->exchange, p.method.mandatory, message, seq);
}

Status Channel::Route(const std::string& exchange, bool mandatory,
                      const core::MessagePtr& message, uint64_t seq) {
  core::PublishOutcome outcome;
  auto& counters = connection_.broker().counters();
  if (exchange.empty() && StartsWith(message->routing_key, core::kReplyToQueue)) {
    if (core::DirectReplySink* sink = connection_.broker().FindReplyTo(message->routing_key)) {
      sink->DeliverReply(message);
      outcome.routed = 1;
    }
  } else {
    core::Exchange* e = nullptr;
    if (!exchange.empty()) {
      e = vhost().FindExchange(exchange);
      if (!e)
        return AmqpError(ReplyCode::kNotFound,
                         "no exchange '" + exchange + "' in vhost '" + vhost().name() + "'");
    }
    outcome = vhost().Publish(e, message);
  }
  if (outcome.routed > 0) {
    ++counters.messages_routed;
  } else if (!outcome.rejected) {
    if (mandatory) {
      SendReturn(*message, exchange);
      ++counters.messages_unroutable_returned;
    } else {
      ++counters.messages_unroutable_dropped;
    }
  }
  if (outcome.durable_at != 0) last_durable_at_ = outcome.durable_at;
  if (seq != 0) Confirm(seq, !outcome.rejected, outcome.durable_at);
  return Status::Ok();
}

void Channel::SendReturn(const core::Message& message, const std::string& exchange) {
  amqp::BasicReturn r;
  r.reply_code = static_cast<uint16_t>(ReplyCode::kNoRoute);
  r.reply_text = "NO_ROUTE";
  r.exchange = exchange;
  r.routing_key = message.routing_key;
  amqp::AppendMethodFrame(connection_.output(), number_, r);
  SendContent(message);
}

void Channel::Confirm(uint64_t seq, bool ack, uint64_t durable_at) {
  ++connection_.broker().counters().messages_confirmed;
  core::Persistence* store = connection_.broker().persistence();
  bool must_wait = durable_at != 0 && store && store->synced() < durable_at;
  if (must_wait || !awaiting_sync_.empty()) {
    awaiting_sync_.push_back({seq, ack, durable_at});
    if (must_wait) store->WaitForSync(this);
    return;
  }
  ConfirmNow(seq, ack, true);
}

void Channel::OnSynced() {
  core::Persistence* store = connection_.broker().persistence();
  if (!store || closing_ || shut_down_) return;
  while (!awaiting_sync_.empty() && awaiting_sync_.front().durable_at <= store->synced()) {
    AwaitingSync a = awaiting_sync_.front();
    awaiting_sync_.pop_front();
    if (!a.commit_ok) {
      ConfirmNow(a.seq, a.ack, false);
      continue;
    }
    FlushConfirms();
    Reply(amqp::TxCommitOk{});
  }
  FlushConfirms();
  connection_.Send();
  if (!awaiting_sync_.empty()) store->WaitForSync(this);
}

void Channel::ConfirmNow(uint64_t seq, bool ack, bool owe) {
  if (ack) {
    if (owe && pending_ack_ == confirmed_) connection_.OweConfirms(number_);
    pending_ack_ = seq;
    return;
  }
  FlushConfirms();
  Reply(amqp::BasicNack{seq, false, false});
  confirmed_ = seq;
  pending_ack_ = seq;
}

void Channel::FlushConfirms() {
  if (pending_ack_ <= confirmed_ || closing_) return;
  Reply(amqp::BasicAck{pending_ack_, pending_ack_ - confirmed_ > 1});
  confirmed_ = pending_ack_;
}

Status Channel::HandleBasicGet(const amqp::BasicGet& m) {
  if (Status s = Check(Access::kRead, m.queue, "queue"); !s.ok()) return s;
  auto q = vhost().GetQueue(m.queue, connection_.id());
  if (!q.ok()) return q.status();
  std::shared_ptr<core::Queue> queue = q.value();
  std::optional<core::QueueEntry> entry = queue->Get(m.no_ack);
  if (!entry) {
    Reply(amqp::BasicGetEmpty{});
    return Status::Ok();
  }
  uint64_t tag = next_delivery_tag_++;
  const core::Message& msg = *entry->message;
  amqp::BasicGetOk ok;
  ok.delivery_tag = tag;
  ok.redelivered = entry->redelivered;
  ok.exchange = msg.exchange;
  ok.routing_key = msg.routing_key;
  ok.message_count = static_cast<uint32_t>(queue->ready_count());
  CountDelivery(entry->redelivered);
  amqp::AppendMethodFrame(connection_.output(), number_, ok);
  SendContent(msg);
  if (!m.no_ack) unacked_.emplace(tag, Unacked{queue, std::move(*entry), nullptr});
  return Status::Ok();
}

Status Channel::Settle(TxAck kind, uint64_t tag, bool multiple) {
  auto unknown = [&] {
    return AmqpError(ReplyCode::kPreconditionFailed,
                     "unknown delivery tag " + std::to_string(tag));
  };
  if (tx_mode_) {
    if (!(multiple && tag == 0) && !unacked_.count(tag) && !multiple) return unknown();
    tx_acks_.push_back(TxOp{kind, tag, multiple});
    return Status::Ok();
  }
  std::vector<Unacked> settled;
  if (multiple) {
    auto end = tag == 0 ? unacked_.end() : unacked_.upper_bound(tag);
    if (unacked_.begin() == end && tag != 0) return unknown();
    for (auto it = unacked_.begin(); it != end; ++it) settled.push_back(std::move(it->second));
    unacked_.erase(unacked_.begin(), end);
  } else {
    auto it = unacked_.find(tag);
    if (it == unacked_.end()) return unknown();
    settled.push_back(std::move(it->second));
    unacked_.erase(it);
  }
  std::vector<Unacked> requeue;
  for (Unacked& u : settled) {
    if (u.consumer) {
      --u.consumer->unacked;
      --consumer_unacked_;
    }
    if (kind == TxAck::kAck) {
      u.queue->Ack(u.entry);
      ++connection_.broker().counters().messages_acked;
    } else if (kind == TxAck::kReject) u.queue->Reject(std::move(u.entry));
    else requeue.push_back(std::move(u));
  }
  RequeueAll(std::move(requeue));
  ResumeDeliveries();
  return Status::Ok();
}

void Channel::RequeueAll(std::vector<Unacked> entries) {
  // Group by queue so each queue re-sorts once.
  std::vector<std::pair<std::shared_ptr<core::Queue>, std::vector<core::QueueEntry>>> groups;
  for (Unacked& u : entries) {
    if (u.consumer) {
      if (u.consumer->unacked > 0) --u.consumer->unacked;
      if (consumer_unacked_ > 0) --consumer_unacked_;
    }
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& g) { return g.first == u.queue; });
    if (it == groups.end()) {
      groups.emplace_back(u.queue, std::vector<core::QueueEntry>{});
      it = groups.end() - 1;
    }
    it->second.push_back(std::move(u.entry));
  }
  for (auto& [queue, list] : groups) queue->Requeue(std::move(list));
}

Status Channel::HandleBasicRecover(bool requeue, bool reply) {
  if (!requeue) return AmqpError(ReplyCode::kNotImplemented, "requeue=false");
  std::vector<Unacked> pending;
  for (auto& [tag, u] : unacked_) pending.push_back(std::move(u));
  unacked_.clear();
  RequeueAll(std::move(pending));
  if (reply) Reply(amqp::BasicRecoverOk{});
  return Status::Ok();
}

Status Channel::HandleTxCommit() {
  if (!tx_mode_)
    return AmqpError(ReplyCode::kPreconditionFailed, "channel is not transactional");
  std::vector<TxPublish> publishes = std::move(tx_publishes_);
  std::vector<TxOp> acks = std::move(tx_acks_);
  tx_publishes_.clear();
  tx_acks_.clear();
  tx_mode_ = false;  // let Settle apply directly
  Status result = Status::Ok();
  for (TxPublish& p : publishes) {
    result = Route(p.exchange, p.mandatory, p.message, 0);
    if (!result.ok()) break;
  }
  for (const TxOp& op : acks) {
    if (!result.ok()) break;
    result = Settle(op.kind, op.tag, op.multiple);
  }
  tx_mode_ = true;
  if (!result.ok()) return result;
  // As RabbitMQ: commit-ok once the committed persistent messages are on disk.
  core::Persistence* store = connection_.broker().persistence();
  if (store && store->synced() < last_durable_at_) {
    awaiting_sync_.push_back({0, true, last_durable_at_, true});
    store->WaitForSync(this);
    return Status::Ok();
  }
  Reply(amqp::TxCommitOk{});
  return Status::Ok();
}

Status Channel::HandleTxRollback() {
  if (!tx_mode_)
    return AmqpError(ReplyCode::kPreconditionFailed, "channel is not transactional");
  tx_publishes_.clear();
  tx_acks_.clear();
  Reply(amqp::TxRollbackOk{});
  return Status::Ok();
}

}  // namespace warren::protocol
