#include "broker/core/command.h"

#include <type_traits>

#include "amqp/constants.h"
#include "broker/core/broker.h"
#include "broker/core/errors.h"

namespace warren::core {

namespace {

Outcome Of(Status status) { return Outcome{std::move(status)}; }

// The vhost a command names, or 404 as RabbitMQ words it.
Result<VHost*> VHostOf(Broker& broker, const std::string& name) {
  if (VHost* v = broker.FindVHost(name)) return v;
  return AmqpError(amqp::ReplyCode::kNotFound, "no vhost '" + name + "'");
}

struct Applier {
  Broker& broker;

  Outcome operator()(const cmd::AddVHost& c) {
    bool created = broker.FindVHost(c.name) == nullptr;
    Status s = broker.AddVHost(c.name, c.metadata, c.update);
    if (s.ok() && created && !c.grant_user.empty() && broker.FindUser(c.grant_user))
      s = broker.SetPermissions(c.grant_user, c.name, ".*", ".*", ".*");
    return Of(std::move(s));
  }
  Outcome operator()(const cmd::DeleteVHost& c) { return Of(broker.DeleteVHost(c.name)); }
  Outcome operator()(const cmd::AddUser& c) {
    return Of(broker.AddUser(c.name, c.password_hash, c.tags));
  }
  Outcome operator()(const cmd::DeleteUser& c) { return Of(broker.DeleteUser(c.name)); }
  Outcome operator()(const cmd::ChangePassword& c) {
    return Of(broker.ChangePasswordHash(c.name, c.password_hash));
  }
  Outcome operator()(const cmd::SetUserTags& c) { return Of(broker.SetUserTags(c.name, c.tags)); }
  Outcome operator()(const cmd::SetPermissions& c) {
    return Of(broker.SetPermissions(c.user, c.vhost, c.configure, c.write, c.read));
  }
  Outcome operator()(const cmd::ClearPermissions& c) {
    broker.ClearPermissions(c.user, c.vhost);
    return {};
  }
  Outcome operator()(const cmd::SetTopicPermission& c) {
    return Of(broker.SetTopicPermission({c.user, c.vhost, c.exchange, c.write, c.read}));
  }
  Outcome operator()(const cmd::ClearTopicPermissions& c) {
    broker.ClearTopicPermissions(c.user, c.vhost, c.exchange, c.all);
    return {};
  }
  Outcome operator()(const cmd::SetUserLimits& c) {
    return Of(broker.SetUserLimits(c.user, c.limits));
  }
  Outcome operator()(const cmd::ClearUserLimits& c) {
    return Of(broker.ClearUserLimits(c.user, c.name, c.all));
  }
  Outcome operator()(const cmd::SetPolicy& c) {
    auto v = VHostOf(broker, c.vhost);
    if (!v.ok()) return Of(v.status());
    Policy p{c.vhost, c.name, c.pattern, c.apply_to, c.priority, c.definition, {}};
    return Of(c.operator_policy ? v.value()->SetOperatorPolicy(std::move(p))
                                : v.value()->SetPolicy(std::move(p)));
  }
  Outcome operator()(const cmd::ClearPolicy& c) {
    auto v = VHostOf(broker, c.vhost);
    if (!v.ok()) return Of(v.status());
    return Of(c.operator_policy ? v.value()->ClearOperatorPolicy(c.name)
                                : v.value()->ClearPolicy(c.name));
  }
  Outcome operator()(const cmd::SetParameter& c) {
    return Of(broker.SetParameter({c.component, c.vhost, c.name, c.value}, c.only_if_absent));
  }
  Outcome operator()(const cmd::ClearParameter& c) {
    return Of(broker.ClearParameter({c.component, c.vhost, c.name}));
  }
  Outcome operator()(const cmd::DeclareExchange& c) {
    auto v = VHostOf(broker, c.vhost);
    if (!v.ok()) return Of(v.status());
    ExchangeDeclare d;
    d.name = c.name;
    d.type = c.type;
    d.options.durable = c.durable;
    d.options.auto_delete = c.auto_delete;
    d.options.internal = c.internal;
    d.options.arguments = c.arguments;
    return Of(v.value()->DeclareExchange(d));
  }
  Outcome operator()(const cmd::DeleteExchange& c) {
    auto v = VHostOf(broker, c.vhost);
    if (!v.ok()) return Of(v.status());
    return Of(v.value()->DeleteExchange(c.name, c.if_unused));
  }
  Outcome operator()(const cmd::DeclareQueue& c) {
    auto v = VHostOf(broker, c.vhost);
    if (!v.ok()) return Of(v.status());
    if (c.name.empty())
      return Of(AmqpError(amqp::ReplyCode::kPreconditionFailed, "queue name must not be empty"));
    QueueDeclare d;
    d.name = c.name;
    d.server_named = c.server_named;
    d.durable = c.durable;
    d.exclusive = c.exclusive;
    d.auto_delete = c.auto_delete;
    d.arguments = c.arguments;
    d.home = c.node == broker.self_member() ? 0 : c.node;
    auto r = v.value()->DeclareQueue(d, c.connection);
    if (!r.ok()) return Of(r.status());
    return Outcome{Status::Ok(), r->message_count, r->consumer_count};
  }
  Outcome operator()(const cmd::DeleteQueue& c) {
    auto v = VHostOf(broker, c.vhost);
    if (!v.ok()) return Of(v.status());
    // In a cluster only the home knows whether its queue is used or empty,
    // and every member must apply the delete alike: the asking node checked
    // the conditions before proposing (protocol::Channel::HandleQueueDelete).
    bool alone = broker.self_member() == 0;
    if (c.home != 0) {
      std::shared_ptr<Queue> q = v.value()->FindQueue(c.name);
      if (!q || broker.HomeOf(*q) != c.home)
        return Of(AmqpError(amqp::ReplyCode::kNotFound,
                            "no queue '" + c.name + "' in vhost '" + c.vhost +
                                "' homed on member " + std::to_string(c.home)));
    }
    auto r = v.value()->DeleteQueue(c.name, alone && c.if_unused, alone && c.if_empty,
                                    c.connection);
    if (!r.ok()) return Of(r.status());
    return Outcome{Status::Ok(), r.value(), 0};
  }
  Outcome operator()(const cmd::SetMirrors& c) {
    auto v = VHostOf(broker, c.vhost);
    if (!v.ok()) return Of(v.status());
    return Of(v.value()->SetMirrors(c.name, c.home, c.mirrors, c.new_home));
  }
  Outcome operator()(const cmd::Bind& c) {
    auto v = VHostOf(broker, c.vhost);
    if (!v.ok()) return Of(v.status());
    return Of(c.to_queue ? v.value()->BindQueue(c.destination, c.source, c.routing_key,
                                                c.arguments, c.connection)
                         : v.value()->BindExchange(c.destination, c.source, c.routing_key,
                                                   c.arguments));
  }
  Outcome operator()(const cmd::Unbind& c) {
    auto v = VHostOf(broker, c.vhost);
    if (!v.ok()) return Of(v.status());
    return Of(c.to_queue ? v.value()->UnbindQueue(c.destination, c.source, c.routing_key,
                                                  c.arguments, c.connection)
                         : v.value()->UnbindExchange(c.destination, c.source, c.routing_key,
                                                     c.arguments));
  }
};

}  // namespace

void PlaceNewQueue(Broker& broker, Command& command) {
  auto* d = std::get_if<cmd::DeclareQueue>(&command);
  if (!d || d->node != 0) return;
  VHost* v = broker.FindVHost(d->vhost);
  d->node = d->exclusive || !v ? broker.self_member()
                               : broker.PlaceQueue(v->QueueLocator(d->name, d->arguments));
}

Outcome Apply(Broker& broker, const Command& command) {
  return std::visit(Applier{broker}, command);
}

}  // namespace warren::core
