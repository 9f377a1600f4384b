// The exchange and queue classes of a Channel: permission checks (where
// RabbitMQ makes them) in front of the vhost's typed commands.
#include "amqp/constants.h"
#include "broker/core/errors.h"
#include "broker/protocol/channel.h"
#include "broker/protocol/connection.h"

namespace warren::protocol {

using amqp::ReplyCode;
using core::Access;
using core::AmqpError;

Status Channel::Check(Access access, const std::string& resource, const char* kind) {
  const std::string& vhost_name = vhost().name();
  if (connection_.broker().Allowed(connection_.user(), vhost_name, access, resource))
    return Status::Ok();
  return AmqpError(ReplyCode::kAccessRefused,
                   std::string("access to ") + kind + " '" +
                       (resource.empty() ? "amq.default" : resource) + "' in vhost '" +
                       vhost_name + "' refused for user '" + connection_.user() + "'");
}

Status Channel::HandleExchangeDeclare(const amqp::ExchangeDeclare& m) {
  if (!m.passive) {
    if (Status s = Check(Access::kConfigure, m.exchange, "exchange"); !s.ok()) return s;
  }
  core::ExchangeDeclare d;
  d.name = m.exchange;
  d.type = m.type;
  d.passive = m.passive;
  d.options.durable = m.durable;
  d.options.auto_delete = m.auto_delete;
  d.options.internal = m.internal;
  d.options.arguments = m.arguments;
  if (Status s = vhost().DeclareExchange(d); !s.ok()) return s;
  if (!m.no_wait) Reply(amqp::ExchangeDeclareOk{});
  return Status::Ok();
}

Status Channel::HandleExchangeDelete(const amqp::ExchangeDelete& m) {
  if (Status s = Check(Access::kConfigure, m.exchange, "exchange"); !s.ok()) return s;
  Status s = vhost().DeleteExchange(m.exchange, m.if_unused);
  // Deleting an exchange that does not exist succeeds, as in RabbitMQ 3.x.
  if (!s.ok() && s.error().code != static_cast<uint16_t>(ReplyCode::kNotFound)) return s;
  if (!m.no_wait) Reply(amqp::ExchangeDeleteOk{});
  return Status::Ok();
}

Status Channel::HandleExchangeBind(const amqp::ExchangeBind& m, bool bind) {
  if (Status s = Check(Access::kWrite, m.destination, "exchange"); !s.ok()) return s;
  if (Status s = Check(Access::kRead, m.source, "exchange"); !s.ok()) return s;
  Status s = bind ? vhost().BindExchange(m.destination, m.source, m.routing_key, m.arguments)
                  : vhost().UnbindExchange(m.destination, m.source, m.routing_key, m.arguments);
  if (!s.ok()) return s;
  if (!m.no_wait) {
    if (bind) Reply(amqp::ExchangeBindOk{});
    else Reply(amqp::ExchangeUnbindOk{});
  }
  return Status::Ok();
}

Status Channel::HandleQueueDeclare(const amqp::QueueDeclare& m) {
  std::string_view reply_to = core::kReplyToQueue;
  if (m.queue == reply_to) {
    // RabbitMQ lets clients check the pseudo-queue exists.
    if (!m.no_wait) Reply(amqp::QueueDeclareOk{m.queue, 0, 0});
    return Status::Ok();
  }
  core::QueueDeclare d;
  d.name = m.queue;
  d.passive = m.passive;
  d.durable = m.durable;
  d.exclusive = m.exclusive;
  d.auto_delete = m.auto_delete;
  d.arguments = m.arguments;
  if (!m.passive && !m.queue.empty()) {
    if (Status s = Check(Access::kConfigure, m.queue, "queue"); !s.ok()) return s;
  }
  auto r = vhost().DeclareQueue(d, connection_.id());
  if (!r.ok()) return r.status();
  if (!m.passive && m.queue.empty()) {
    if (Status s = Check(Access::kConfigure, r->name, "queue"); !s.ok()) {
      (void)vhost().DeleteQueue(r->name, false, false, connection_.id());
      return s;
    }
  }
  if (!m.no_wait) Reply(amqp::QueueDeclareOk{r->name, r->message_count, r->consumer_count});
  return Status::Ok();
}

Status Channel::HandleQueueBind(const amqp::QueueBind& m) {
  if (Status s = Check(Access::kWrite, m.queue, "queue"); !s.ok()) return s;
  if (Status s = Check(Access::kRead, m.exchange, "exchange"); !s.ok()) return s;
  if (Status s = vhost().BindQueue(m.queue, m.exchange, m.routing_key, m.arguments,
                                   connection_.id());
      !s.ok())
    return s;
  if (!m.no_wait) Reply(amqp::QueueBindOk{});
  return Status::Ok();
}

Status Channel::HandleQueueUnbind(const amqp::QueueUnbind& m) {
  if (Status s = Check(Access::kWrite, m.queue, "queue"); !s.ok()) return s;
  if (Status s = Check(Access::kRead, m.exchange, "exchange"); !s.ok()) return s;
  if (Status s = vhost().UnbindQueue(m.queue, m.exchange, m.routing_key, m.arguments,
                                     connection_.id());
      !s.ok())
    return s;
  Reply(amqp::QueueUnbindOk{});
  return Status::Ok();
}

Status Channel::HandleQueuePurge(const amqp::QueuePurge& m) {
  if (Status s = Check(Access::kRead, m.queue, "queue"); !s.ok()) return s;
  auto r = vhost().PurgeQueue(m.queue, connection_.id());
  if (!r.ok()) return r.status();
  if (!m.no_wait) Reply(amqp::QueuePurgeOk{r.value()});
  return Status::Ok();
}

Status Channel::HandleQueueDelete(const amqp::QueueDelete& m) {
  if (Status s = Check(Access::kConfigure, m.queue, "queue"); !s.ok()) return s;
  auto r = vhost().DeleteQueue(m.queue, m.if_unused, m.if_empty, connection_.id());
  uint32_t count = 0;
  if (!r.ok()) {
    // Deleting a queue that does not exist succeeds, as in RabbitMQ 3.x.
    if (r.error().code != static_cast<uint16_t>(ReplyCode::kNotFound)) return r.status();
  } else {
    count = r.value();
  }
  if (!m.no_wait) Reply(amqp::QueueDeleteOk{count});
  return Status::Ok();
}

}  // namespace warren::protocol
