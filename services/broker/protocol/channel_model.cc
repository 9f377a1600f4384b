// The exchange and queue classes of a Channel: permission checks (where
// RabbitMQ makes them), then the change as a metadata command (core/command.h)
// through the connection, answered once it is applied; passive declares and
// purges read or change this node's model directly.
#include "amqp/constants.h"
#include "broker/core/errors.h"
#include "broker/protocol/channel.h"
#include "broker/protocol/connection.h"

namespace warren::protocol {

using amqp::ReplyCode;
using core::Access;
using core::AmqpError;
using core::Outcome;

namespace {

// The class and method ids of the methods that become commands, for the
// channel.close an error answers with.
constexpr uint16_t kExchange = 40, kQueue = 50;
constexpr uint16_t kExchangeDeclare = 10, kExchangeDelete = 20, kExchangeBind = 30,
                   kExchangeUnbind = 40;
constexpr uint16_t kQueueDeclare = 10, kQueueBind = 20, kQueuePurge = 30, kQueueDelete = 40,
                   kQueueUnbind = 50;

bool NotFound(const Outcome& o) {
  return !o.status.ok() && o.status.error().code == static_cast<uint16_t>(ReplyCode::kNotFound);
}

}  // namespace

Status Channel::Check(Access access, const std::string& resource, const char* kind) {
  const std::string& vhost_name = vhost().name();
  if (connection_.broker().Allowed(connection_.user(), vhost_name, access, resource))
    return Status::Ok();
  return AmqpError(ReplyCode::kAccessRefused,
                   std::string("access to ") + kind + " '" +
                       (resource.empty() ? "amq.default" : resource) + "' in vhost '" +
                       vhost_name + "' refused for user '" + connection_.user() + "'");
}

Status Channel::CheckTopic(Access access, const std::string& exchange,
                          const std::string& routing_key) {
  // Most nodes have none: the publish path then looks nothing up.
  if (connection_.broker().topic_permissions().empty()) return Status::Ok();
  core::Exchange* e = vhost().FindExchange(exchange);
  const std::string& user = connection_.user();
  if (!e || e->type() != "topic" ||
      connection_.broker().TopicAllowed(user, vhost().name(), exchange, access, routing_key))
    return Status::Ok();
  return AmqpError(ReplyCode::kAccessRefused,
                   std::string(access == Access::kWrite ? "write" : "read") +
                       " access to topic '" + routing_key + "' in exchange '" + exchange +
                       "' in vhost '" + vhost().name() + "' refused for user '" + user + "'");
}

Status Channel::Await(uint16_t class_id, uint16_t method_id,
                      const std::function<void(Finish)>& start) {
  // Whether Await is still on the stack: an answer given at once is
  // returned (the dispatch turns an error into channel.close after the
  // handler is done with the channel); a later one closes the channel here.
  struct Answer {
    bool waiting = true;
    Status now;
  };
  auto answer = std::make_shared<Answer>();
  std::weak_ptr<bool> alive = alive_;
  Connection::Resume resume = connection_.Hold();
  start([this, alive, answer, class_id, method_id, resume](const std::function<Status()>& reply) {
    resume([&] {
      if (alive.expired() || closing_) return;
      Status s = reply();
      if (answer->waiting) answer->now = std::move(s);
      else if (!s.ok()) connection_.Fail(number_, s.error(), class_id, method_id);
    });
  });
  answer->waiting = false;
  return answer->now;
}

Status Channel::Submit(core::Command command, uint16_t class_id, uint16_t method_id, Then then) {
  return Await(class_id, method_id, [&](Finish finish) {
    connection_.broker().metadata().Submit(
        std::move(command), [finish, then = std::move(then)](const Outcome& outcome) {
          finish([&] { return then(outcome); });
        });
  });
}

Status Channel::HandleExchangeDeclare(const amqp::ExchangeDeclare& m) {
  if (m.passive) {
    core::ExchangeDeclare d;
    d.name = m.exchange;
    d.type = m.type;
    d.passive = true;
    if (Status s = vhost().DeclareExchange(d); !s.ok()) return s;
    if (!m.no_wait) Reply(amqp::ExchangeDeclareOk{});
    return Status::Ok();
  }
  if (Status s = Check(Access::kConfigure, m.exchange, "exchange"); !s.ok()) return s;
  core::cmd::DeclareExchange c{vhost().name(), m.exchange, m.type, m.durable, m.auto_delete,
                               m.internal, m.arguments};
  return Submit(std::move(c), kExchange, kExchangeDeclare, [this, no_wait = m.no_wait](auto& o) {
    if (!o.status.ok()) return o.status;
    if (!no_wait) Reply(amqp::ExchangeDeclareOk{});
    return Status::Ok();
  });
}

Status Channel::HandleExchangeDelete(const amqp::ExchangeDelete& m) {
  if (Status s = Check(Access::kConfigure, m.exchange, "exchange"); !s.ok()) return s;
  core::cmd::DeleteExchange c{vhost().name(), m.exchange, m.if_unused};
  return Submit(std::move(c), kExchange, kExchangeDelete, [this, no_wait = m.no_wait](auto& o) {
    // Deleting an exchange that does not exist succeeds, as in RabbitMQ 3.x.
    if (!o.status.ok() && !NotFound(o)) return o.status;
    if (!no_wait) Reply(amqp::ExchangeDeleteOk{});
    return Status::Ok();
  });
}

Status Channel::HandleExchangeBind(const amqp::ExchangeBind& m, bool bind) {
  if (Status s = Check(Access::kWrite, m.destination, "exchange"); !s.ok()) return s;
  if (Status s = Check(Access::kRead, m.source, "exchange"); !s.ok()) return s;
  if (Status s = CheckTopic(Access::kRead, m.source, m.routing_key); !s.ok()) return s;
  auto then = [this, bind, no_wait = m.no_wait](const Outcome& o) {
    if (!o.status.ok()) return o.status;
    if (!no_wait) {
      if (bind) Reply(amqp::ExchangeBindOk{});
      else Reply(amqp::ExchangeUnbindOk{});
    }
    return Status::Ok();
  };
  if (bind)
    return Submit(core::cmd::Bind{vhost().name(), m.source, m.destination, m.routing_key, false,
                                  m.arguments, connection_.id()},
                  kExchange, kExchangeBind, std::move(then));
  return Submit(core::cmd::Unbind{vhost().name(), m.source, m.destination, m.routing_key, false,
                                  m.arguments, connection_.id()},
                kExchange, kExchangeUnbind, std::move(then));
}

Status Channel::HandleQueueDeclare(const amqp::QueueDeclare& m) {
  std::string_view reply_to = core::kReplyToQueue;
  if (m.queue == reply_to) {
    // RabbitMQ lets clients check the pseudo-queue exists.
    if (!m.no_wait) Reply(amqp::QueueDeclareOk{m.queue, 0, 0});
    return Status::Ok();
  }
  if (m.passive) {
    if (auto q = vhost().GetQueue(m.queue, connection_.id()); q.ok() && q.value()->remote()) {
      return AskHome(*q.value(), kQueue, kQueueDeclare, StatOf(q.value()),
                     [this, name = m.queue, no_wait = m.no_wait](const core::RemoteReply& r) {
                       if (!no_wait)
                         Reply(amqp::QueueDeclareOk{name, r.message_count, r.consumer_count});
                       return Status::Ok();
                     });
    }
    core::QueueDeclare d;
    d.name = m.queue;
    d.passive = true;
    auto r = vhost().DeclareQueue(d, connection_.id());
    if (!r.ok()) return r.status();
    if (!m.no_wait) Reply(amqp::QueueDeclareOk{r->name, r->message_count, r->consumer_count});
    return Status::Ok();
  }
  ++connection_.broker().counters().queues_declared;
  core::cmd::DeclareQueue c;
  c.vhost = vhost().name();
  c.server_named = m.queue.empty();
  c.name = c.server_named ? vhost().NewQueueName() : m.queue;
  c.durable = m.durable;
  c.exclusive = m.exclusive;
  c.auto_delete = m.auto_delete;
  c.arguments = m.arguments;
  c.connection = connection_.id();
  if (Status s = Check(Access::kConfigure, c.name, "queue"); !s.ok()) return s;
  std::string name = c.name;
  return Submit(std::move(c), kQueue, kQueueDeclare,
                [this, name = std::move(name), no_wait = m.no_wait](const Outcome& o) {
                  if (!o.status.ok()) return o.status;
                  if (no_wait) return Status::Ok();
                  // The counts are the home's: the outcome may have been
                  // computed on another node (a cluster's leader).
                  auto q = vhost().FindQueue(name);
                  if (q && q->remote()) {
                    return AskHome(*q, kQueue, kQueueDeclare, StatOf(q),
                                   [this, name](const core::RemoteReply& r) {
                                     Reply(amqp::QueueDeclareOk{name, r.message_count,
                                                                r.consumer_count});
                                     return Status::Ok();
                                   });
                  }
                  Reply(amqp::QueueDeclareOk{
                      name, q ? static_cast<uint32_t>(q->ready_count()) : o.message_count,
                      q ? static_cast<uint32_t>(q->consumer_count()) : o.consumer_count});
                  return Status::Ok();
                });
}

Channel::Ask Channel::StatOf(const std::shared_ptr<core::Queue>& q) {
  return [q, this](core::QueueRemote& r, core::QueueRemote::Reply done) {
    r.Stat(q->home(), vhost().name(), q->name(), connection_.id(), std::move(done));
  };
}

std::string Channel::HomeDownText(const core::Queue& queue) {
  core::QueueRemote* remote = connection_.broker().remote();
  return core::HomeDown(remote ? remote->NodeName(queue.home())
                               : "member " + std::to_string(queue.home()),
                        queue.name(), queue.durable(), vhost().name());
}

Status Channel::AskHome(const core::Queue& queue, uint16_t class_id, uint16_t method_id,
                        const Ask& ask, RemoteThen then) {
  core::QueueRemote* remote = connection_.broker().remote();
  std::string down = HomeDownText(queue);
  if (!remote) return AmqpError(ReplyCode::kNotFound, down);
  return Await(class_id, method_id, [&](Finish finish) {
    ask(*remote, [finish, then = std::move(then), down](core::RemoteReply r) {
      finish([&]() -> Status {
        if (r.unreachable) return AmqpError(ReplyCode::kNotFound, down);
        if (!r.status.ok()) return r.status;
        return then(r);
      });
    });
  });
}

Status Channel::HandleQueueBind(const amqp::QueueBind& m) {
  if (Status s = Check(Access::kWrite, m.queue, "queue"); !s.ok()) return s;
  if (Status s = Check(Access::kRead, m.exchange, "exchange"); !s.ok()) return s;
  if (Status s = CheckTopic(Access::kRead, m.exchange, m.routing_key); !s.ok()) return s;
  core::cmd::Bind c{vhost().name(), m.exchange, m.queue, m.routing_key, true, m.arguments,
                    connection_.id()};
  return Submit(std::move(c), kQueue, kQueueBind, [this, no_wait = m.no_wait](auto& o) {
    if (!o.status.ok()) return o.status;
    if (!no_wait) Reply(amqp::QueueBindOk{});
    return Status::Ok();
  });
}

Status Channel::HandleQueueUnbind(const amqp::QueueUnbind& m) {
  if (Status s = Check(Access::kWrite, m.queue, "queue"); !s.ok()) return s;
  if (Status s = Check(Access::kRead, m.exchange, "exchange"); !s.ok()) return s;
  if (Status s = CheckTopic(Access::kRead, m.exchange, m.routing_key); !s.ok()) return s;
  core::cmd::Unbind c{vhost().name(), m.exchange, m.queue, m.routing_key, true, m.arguments,
                      connection_.id()};
  return Submit(std::move(c), kQueue, kQueueUnbind, [this](auto& o) {
    if (!o.status.ok()) return o.status;
    Reply(amqp::QueueUnbindOk{});
    return Status::Ok();
  });
}

Status Channel::HandleQueuePurge(const amqp::QueuePurge& m) {
  if (Status s = Check(Access::kRead, m.queue, "queue"); !s.ok()) return s;
  if (auto q = vhost().GetQueue(m.queue, connection_.id()); q.ok() && q.value()->remote()) {
    auto ask = [q = q.value(), this](core::QueueRemote& r, core::QueueRemote::Reply done) {
      r.Purge(q->home(), vhost().name(), q->name(), connection_.id(), std::move(done));
    };
    return AskHome(*q.value(), kQueue, kQueuePurge, ask,
                   [this, no_wait = m.no_wait](const core::RemoteReply& r) {
                     if (!no_wait) Reply(amqp::QueuePurgeOk{r.message_count});
                     return Status::Ok();
                   });
  }
  auto r = vhost().PurgeQueue(m.queue, connection_.id());
  if (!r.ok()) return r.status();
  if (!m.no_wait) Reply(amqp::QueuePurgeOk{r.value()});
  return Status::Ok();
}

Status Channel::HandleQueueDelete(const amqp::QueueDelete& m) {
  if (Status s = Check(Access::kConfigure, m.queue, "queue"); !s.ok()) return s;
  core::cmd::DeleteQueue c{vhost().name(), m.queue, m.if_unused, m.if_empty, connection_.id()};
  auto q = vhost().GetQueue(m.queue, connection_.id());
  if (connection_.broker().self_member() == 0 || !q.ok())
    return DeleteQueue(std::move(c), m.no_wait, std::nullopt);
  // In a cluster every member applies a delete alike, and only the home
  // knows whether the queue is used or empty: the conditions are checked
  // here, first, and the command deletes (core/command.cc).
  auto check = [this, c, no_wait = m.no_wait](uint32_t messages, uint32_t consumers) -> Status {
    if (Status s = core::CheckDeleteConditions(c.vhost, c.name, c.if_unused, c.if_empty,
                                               consumers, messages);
        !s.ok())
      return s;
    return DeleteQueue(c, no_wait, messages);
  };
  const core::Queue& queue = *q.value();
  if (!queue.remote())
    return check(static_cast<uint32_t>(queue.ready_count()),
                 static_cast<uint32_t>(queue.consumer_count()));
  return AskHome(queue, kQueue, kQueueDelete, StatOf(q.value()),
                 [check](const core::RemoteReply& r) {
                   return check(r.message_count, r.consumer_count);
                 });
}

Status Channel::DeleteQueue(core::cmd::DeleteQueue c, bool no_wait,
                            std::optional<uint32_t> messages) {
  return Submit(std::move(c), kQueue, kQueueDelete, [this, no_wait, messages](auto& o) {
    // Deleting a queue that does not exist succeeds, as in RabbitMQ 3.x.
    if (!o.status.ok() && !NotFound(o)) return o.status;
    if (!no_wait)
      Reply(amqp::QueueDeleteOk{!o.status.ok() ? 0 : messages ? *messages : o.message_count});
    return Status::Ok();
  });
}

}  // namespace warren::protocol
