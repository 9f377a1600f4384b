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
  if (queue->remote()) return ConsumeRemote(queue, m, tag, priority);
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

Status Channel::ConsumeRemote(const std::shared_ptr<core::Queue>& queue, amqp::BasicConsume& m,
                             const std::string& tag, int priority) {
  core::QueueRemote* remote = connection_.broker().remote();
  if (!remote) return AmqpError(ReplyCode::kNotFound, HomeDownText(*queue));
  auto c = std::make_shared<core::Consumer>(*this, tag, m.no_ack, m.exclusive, priority);
  c->prefetch = prefetch_count_;
  c->queue = queue;
  c->arguments = m.arguments;
  core::RemoteConsume rc{vhost().name(), queue->name(), tag, m.no_ack, m.exclusive, priority,
                         prefetch_count_, std::move(m.arguments), connection_.id()};
  uint64_t home = queue->home();
  std::string down = HomeDownText(*queue);
  std::weak_ptr<bool> alive = alive_;
  return Await(amqp::BasicConsume::kClassId, amqp::BasicConsume::kMethodId, [&](Finish finish) {
    remote->Consume(home, std::move(rc), this,
                    [this, alive, remote, home, c, down, finish,
                     no_wait = m.no_wait](uint64_t id, Status refused) {
                      // A channel that went meanwhile no longer wants it.
                      bool wanted = !alive.expired() && !closing_ && !shut_down_;
                      if (id != 0 && !wanted) remote->Cancel(home, id);
                      finish([&]() -> Status {
                        if (id == 0)
                          return refused.ok() ? AmqpError(ReplyCode::kNotFound, down) : refused;
                        c->remote_id = id;
                        consumers_[c->tag()] = c;
                        remote_consumers_[id] = c->tag();
                        if (!no_wait) Reply(amqp::BasicConsumeOk{c->tag()});
                        return Status::Ok();
                      });
                    });
  });
}

bool Channel::RemoteDeliver(uint64_t consumer, core::MessagePtr message, bool redelivered,
                            uint64_t delivery) {
  auto id = remote_consumers_.find(consumer);
  if (id == remote_consumers_.end() || closing_ || shut_down_) return false;
  auto it = consumers_.find(id->second);
  if (it == consumers_.end()) return false;
  std::shared_ptr<core::Consumer> c = it->second;
  core::QueueEntry entry;
  entry.size = static_cast<uint32_t>(message->body.size());
  entry.message = std::move(message);
  entry.redelivered = redelivered;
  entry.seq = delivery;  // what the home settles it by
  // The channel's global prefetch spans consumers of every home, which each
  // home cannot see: past it, deliveries wait here, in order, and their
  // credit with them, so a home sends at most its credit window more.
  if (!c->no_ack() && global_prefetch_ != 0 &&
      (consumer_unacked_ >= global_prefetch_ || !held_remote_.empty())) {
    held_remote_.push_back(Unacked{c->queue, std::move(entry), c});
    return true;
  }
  DeliverRemote(c, std::move(entry));
  return true;
}

void Channel::DeliverRemote(const std::shared_ptr<core::Consumer>& c, core::QueueEntry entry) {
  Deliver(*c, std::move(entry));
  // The home sends more once this one is off the link and on its way to
  // the client; while the socket is backed up, the credit waits.
  if (connection_.backlogged()) ++c->remote_credit_owed;
  else if (core::QueueRemote* remote = connection_.broker().remote())
    remote->Credit(c->queue->home(), c->remote_id, 1);
}

void Channel::ReleaseHeldRemote() {
  while (!held_remote_.empty() && !closing_ && !shut_down_ && !connection_.backlogged() &&
         (global_prefetch_ == 0 || consumer_unacked_ < global_prefetch_)) {
    Unacked h = std::move(held_remote_.front());
    held_remote_.pop_front();
    DeliverRemote(h.consumer, std::move(h.entry));
  }
}

void Channel::RequeueHeldRemote(const core::Consumer* of) {
  std::vector<Unacked> back;
  std::deque<Unacked> kept;
  for (Unacked& h : held_remote_) {
    if (of == nullptr || h.consumer.get() == of) back.push_back(std::move(h));
    else kept.push_back(std::move(h));
  }
  held_remote_ = std::move(kept);
  SettleRemote(std::move(back), core::SettleKind::kRequeue);
}

void Channel::RemoteCancelled(uint64_t consumer) {
  auto id = remote_consumers_.find(consumer);
  if (id == remote_consumers_.end()) return;
  std::string tag = id->second;
  remote_consumers_.erase(id);
  auto it = consumers_.find(tag);
  if (it == consumers_.end()) return;
  RequeueHeldRemote(it->second.get());  // never reached the client
  if (Follows(*it->second)) {
    following_[tag] = connection_.runtime().NowMs();
    FollowLater(tag);
    return;
  }
  Cancelled(*it->second);  // its queue is gone at the home
}

void Channel::SettleRemote(std::vector<Unacked> entries, core::SettleKind kind) {
  core::QueueRemote* remote = connection_.broker().remote();
  if (!remote || entries.empty()) return;
  std::map<std::pair<uint64_t, uint64_t>, std::vector<uint64_t>> by_consumer;
  for (Unacked& u : entries)
    by_consumer[{u.queue->home(), u.consumer ? u.consumer->remote_id : 0}].push_back(u.entry.seq);
  for (auto& [key, deliveries] : by_consumer)
    remote->Settle(key.first, key.second, kind, std::move(deliveries));
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
  following_.erase(c->tag());
  if (!c->queue->remote()) {
    c->queue->RemoveConsumer(c.get());
    return;
  }
  remote_consumers_.erase(c->remote_id);
  if (core::QueueRemote* remote = connection_.broker().remote())
    remote->Cancel(c->queue->home(), c->remote_id);
  RequeueHeldRemote(c.get());  // never reached the client
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
  if (Status s = CheckTopic(Access::kWrite, m.exchange, m.routing_key); !s.ok()) return s;
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
  Count(&core::MessageCounters::messages_received);
  connection_.broker().counters().message_sizes.Add(message->body.size());
  if (confirm_mode_) Count(&core::MessageCounters::messages_received_confirm);
  if (!publishing_) {
    publishing_ = true;
    ++connection_.broker().counters().publishers;
  }
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
  // What a confirm (seq) or the tx.commit being routed waits on.
  core::Ticket ticket = seq != 0 ? core::NewTicket() : tx_ticket_;
  if (exchange.empty() && StartsWith(message->routing_key, core::kReplyToQueue)) {
    core::Broker& broker = connection_.broker();
    uint64_t member = core::ReplyToMember(message->routing_key);
    if (core::DirectReplySink* sink = broker.FindReplyTo(message->routing_key)) {
      sink->DeliverReply(message);
      outcome.routed = 1;
    } else if (member != 0 && member != broker.self_member() && broker.remote()) {
      // The consumer is a client of another member: delivered there or
      // dropped there, as a reply to a consumer gone is here.
      broker.remote()->DirectReply(member, message);
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
    outcome = vhost().Publish(e, message, ticket);
    if (e) {
      ++e->publish_in;
      e->publish_out += outcome.routed;
    }
  }
  Forward(outcome.remote, message, ticket);
  if (outcome.routed > 0) {
    Count(&core::MessageCounters::messages_routed);
  } else if (!outcome.rejected) {
    if (mandatory) {
      SendReturn(*message, exchange);
      Count(&core::MessageCounters::messages_unroutable_returned);
    } else {
      Count(&core::MessageCounters::messages_unroutable_dropped);
    }
  }
  if (seq != 0) Confirm(seq, ticket);
  return Status::Ok();
}

void Channel::Forward(std::vector<core::RemoteRoute>& routes, const core::MessagePtr& message,
                      const core::Ticket& ticket) {
  if (routes.empty()) return;
  core::QueueRemote* remote = connection_.broker().remote();
  if (!remote) {
    // Homed on members this node cannot reach at all.
    if (ticket) ticket->Refuse();
    return;
  }
  core::Durability& durability = connection_.broker().durability();
  for (core::RemoteRoute& r : routes) {
    std::function<void(bool)> answered = [](bool) {};
    if (ticket) {
      ticket->AddWait();
      answered = [&durability, ticket](bool ok) { durability.Answer(ticket, ok); };
    }
    remote->Publish(r.home, vhost().name(), std::move(r.queues), message, std::move(answered));
    // A home that cannot keep up pushes back: this client is read no
    // further until the link to it drains.
    if (remote->Congested(r.home)) {
      Connection::Resume resume = connection_.Hold();
      remote->WhenDrained(r.home, [resume] { resume([] {}); });
    }
  }
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

void Channel::Confirm(uint64_t seq, const core::Ticket& ticket) {
  Count(&core::MessageCounters::messages_confirmed);
  // The usual case: nothing to wait for and nothing before it. The ack is
  // owed and goes out coalesced with this turn's others.
  if (AwaitTicket(seq, false, ticket)) ConfirmNow(seq, ticket->ok(), true);
}

bool Channel::AwaitTicket(uint64_t seq, bool commit, const core::Ticket& ticket) {
  const uint64_t key = awaiting_.next_key();
  std::weak_ptr<bool> alive = alive_;
  bool done = connection_.broker().durability().Await(ticket, [this, alive, key](bool ok) {
    if (alive.expired() || !awaiting_.Done(key, ok)) return;
    DrainAwaiting();
  });
  if (done && awaiting_.empty()) return true;
  awaiting_.Add({seq, commit}, done, ticket->ok());
  return false;
}

void Channel::DrainAwaiting() {
  if (closing_ || shut_down_) return;
  bool failed = false;
  awaiting_.Drain([&](const Awaiting& a, bool ok) {
    if (!a.commit_ok) {
      ConfirmNow(a.seq, ok, false);
      return true;
    }
    if (!ok) {  // a queue refused one of the commit's messages
      connection_.Fail(number_, PartialCommit().error(), amqp::TxCommit::kClassId,
                       amqp::TxCommit::kMethodId);
      failed = true;
      return false;
    }
    FlushConfirms();
    Reply(amqp::TxCommitOk{});
    return true;
  });
  if (failed) return;
  FlushConfirms();
  connection_.Send();
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
  if (queue->remote()) {
    auto ask = [&](core::QueueRemote& r, core::QueueRemote::Reply done) {
      r.Get(queue->home(), vhost().name(), queue->name(), m.no_ack, connection_.id(),
            std::move(done));
    };
    return AskHome(*queue, amqp::BasicGet::kClassId, amqp::BasicGet::kMethodId, ask,
                   [this, queue, no_ack = m.no_ack](const core::RemoteReply& r) {
                     core::QueueEntry entry;
                     if (r.message) {
                       entry.size = static_cast<uint32_t>(r.message->body.size());
                       entry.message = r.message;
                       entry.redelivered = r.redelivered;
                       entry.seq = r.delivery;  // what the home settles it by
                     }
                     SendGet(queue, r.message ? std::optional(std::move(entry)) : std::nullopt,
                             r.message_count, no_ack);
                     return Status::Ok();
                   });
  }
  std::optional<core::QueueEntry> entry = queue->Get(m.no_ack);
  SendGet(queue, std::move(entry), static_cast<uint32_t>(queue->ready_count()), m.no_ack);
  return Status::Ok();
}

void Channel::SendGet(const std::shared_ptr<core::Queue>& queue,
                      std::optional<core::QueueEntry> entry, uint32_t message_count, bool no_ack) {
  if (!entry) {
    Count(&core::MessageCounters::messages_get_empty);
    Reply(amqp::BasicGetEmpty{});
    return;
  }
  uint64_t tag = next_delivery_tag_++;
  const core::Message& msg = *entry->message;
  amqp::BasicGetOk ok;
  ok.delivery_tag = tag;
  ok.redelivered = entry->redelivered;
  ok.exchange = msg.exchange;
  ok.routing_key = msg.routing_key;
  ok.message_count = message_count;
  CountDelivery(entry->redelivered,
                no_ack ? &core::MessageCounters::messages_delivered_get_auto_ack
                       : &core::MessageCounters::messages_delivered_get_manual_ack);
  amqp::AppendMethodFrame(connection_.output(), number_, ok);
  SendContent(msg);
  if (!no_ack) unacked_.emplace(tag, Unacked{queue, std::move(*entry), nullptr});
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
  std::vector<Unacked> requeue, remote;
  for (Unacked& u : settled) {
    if (kind == TxAck::kRequeue) {
      requeue.push_back(std::move(u));  // RequeueAll counts it
      continue;
    }
    if (u.consumer) {
      --u.consumer->unacked;
      --consumer_unacked_;
    }
    if (kind == TxAck::kAck) Count(&core::MessageCounters::messages_acked);
    if (u.queue->remote()) remote.push_back(std::move(u));
    else if (kind == TxAck::kAck) u.queue->Ack(u.entry);
    else u.queue->Reject(std::move(u.entry));
  }
  SettleRemote(std::move(remote),
               kind == TxAck::kAck ? core::SettleKind::kAck : core::SettleKind::kReject);
  RequeueAll(std::move(requeue));
  ResumeDeliveries();
  return Status::Ok();
}

void Channel::RequeueAll(std::vector<Unacked> entries) {
  // Group by queue so each queue re-sorts once.
  std::vector<std::pair<std::shared_ptr<core::Queue>, std::vector<core::QueueEntry>>> groups;
  std::vector<Unacked> remote;
  for (Unacked& u : entries) {
    if (u.consumer) {
      if (u.consumer->unacked > 0) --u.consumer->unacked;
      if (consumer_unacked_ > 0) --consumer_unacked_;
    }
    if (u.queue->remote()) {
      remote.push_back(std::move(u));
      continue;
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
  SettleRemote(std::move(remote), core::SettleKind::kRequeue);
  ReleaseHeldRemote();  // the global prefetch has room again
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
  // Every publish routed from here adds to the commit's one ticket.
  uint64_t commit = ++tx_commits_;
  tx_ticket_ = core::NewTicket();
  Status result = Status::Ok();
  for (TxPublish& p : publishes) {
    result = Route(p.exchange, p.mandatory, p.message, 0);
    if (!result.ok()) break;
  }
  core::Ticket ticket = std::move(tx_ticket_);
  tx_ticket_.reset();
  for (const TxOp& op : acks) {
    if (!result.ok()) break;
    result = Settle(op.kind, op.tag, op.multiple);
  }
  tx_mode_ = true;
  if (!result.ok()) return result;
  // As RabbitMQ: commit-ok once every queue took the committed messages
  // (homes on other nodes answered) and the persistent ones are on disk; a
  // message a queue refused fails the commit (406, "partial tx completion").
  if (!AwaitTicket(commit, true, ticket)) return Status::Ok();
  if (!ticket->ok()) return PartialCommit();
  Reply(amqp::TxCommitOk{});
  return Status::Ok();
}

Status Channel::PartialCommit() {
  return AmqpError(ReplyCode::kPreconditionFailed, "partial tx completion");
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
