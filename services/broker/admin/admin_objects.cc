// Declaring and deleting queues and exchanges, binding and unbinding, as the
// management API does them (PUT/DELETE /api/queues|exchanges, POST/DELETE
// /api/bindings). The objects are the vhost's, as an AMQP client would
// declare them on a connection of its own (owner 0: no exclusive queues).
#include <openssl/evp.h>

#include <cctype>
#include <optional>

#include <nlohmann/json.hpp>

#include "broker/admin/admin_service.h"
#include "broker/admin/json_values.h"
#include "broker/core/broker.h"

namespace warren::admin {

namespace {

using core::Access;

// An "arguments" JSON object (empty text: none) as a field table.
grpc::Status ParseArguments(const std::string& text, amqp::FieldTable& out) {
  if (text.empty()) return grpc::Status::OK;
  nlohmann::json j;
  std::string error;
  if (!ParseJson(text, "arguments", j, error)) return Invalid(error);
  if (!TableFromJson(j, out, error)) return Invalid("arguments: " + error);
  return grpc::Status::OK;
}

// RabbitMQ quotes a routing key with URL percent-encoding (space as "+")
// and "~" as "%7E", since "~" separates the key from the arguments' hash.
std::string Quote(const std::string& key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

bool IsQueueKind(const std::string& kind) { return kind == "queue" || kind == "q"; }

// What permissions call the default exchange.
std::string ExchangeResource(const std::string& name) {
  return name.empty() ? "amq.default" : name;
}

}  // namespace

std::string PropertiesKey(const std::string& routing_key, const amqp::FieldTable& arguments) {
  if (arguments.entries.empty()) return routing_key.empty() ? "~" : Quote(routing_key);
  // A 32-bit FNV-1a of the arguments' JSON, in URL-safe base64 as RabbitMQ
  // shows its own 32-bit hash.
  uint32_t h = 2166136261u;
  for (unsigned char c : Dump(ToJson(arguments))) h = (h ^ c) * 16777619u;
  unsigned char raw[4] = {static_cast<unsigned char>(h >> 24), static_cast<unsigned char>(h >> 16),
                          static_cast<unsigned char>(h >> 8), static_cast<unsigned char>(h)};
  char b64[9] = {};
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64), raw, 4);
  std::string hash(b64, 6);  // 4 bytes: 6 characters and "=="
  for (char& c : hash) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return Quote(routing_key) + "~" + hash;
}

grpc::Status AdminService::DeclareQueue(grpc::ServerContext* call,
                                        const v1::DeclareQueueRequest* r,
                                        v1::DeclareResponse* out) {
  core::QueueDeclare d;
  d.name = r->name();
  d.durable = r->durable();
  d.auto_delete = r->auto_delete();
  if (d.name.empty()) return Invalid("a queue needs a name");
  std::string vhost = VHostOf(r->vhost());
  auto parse = [&] { return ParseArguments(r->arguments(), d.arguments); };
  bool existed = false;
  auto plan = [&, vhost](const Caller& c, auto& command) {
    if (grpc::Status s = Permit(c, vhost, Access::kConfigure, "queue", d.name); !s.ok()) return s;
    existed = broker().FindVHost(vhost)->FindQueue(d.name) != nullptr;
    ++broker().counters().queues_declared;
    command = core::cmd::DeclareQueue{vhost, d.name, d.durable, false, d.auto_delete, d.arguments};
    return grpc::Status::OK;
  };
  return Change(call, Need::kManagement, vhost, parse, plan, [&](const core::Outcome& o) {
    if (!o.status.ok()) return ToGrpc(o.status);
    out->set_created(!existed);
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::DeclareExchange(grpc::ServerContext* call,
                                           const v1::DeclareExchangeRequest* r,
                                           v1::DeclareResponse* out) {
  core::ExchangeDeclare d;
  d.name = r->name();
  d.type = r->type();
  d.options.durable = r->durable();
  d.options.auto_delete = r->auto_delete();
  d.options.internal = r->internal();
  std::string vhost = VHostOf(r->vhost());
  auto parse = [&] { return ParseArguments(r->arguments(), d.options.arguments); };
  bool existed = false;
  auto plan = [&, vhost](const Caller& c, auto& command) {
    if (grpc::Status s = Permit(c, vhost, Access::kConfigure, "exchange", d.name); !s.ok())
      return s;
    existed = broker().FindVHost(vhost)->FindExchange(d.name) != nullptr;
    command = core::cmd::DeclareExchange{vhost,
                                         d.name,
                                         d.type,
                                         d.options.durable,
                                         d.options.auto_delete,
                                         d.options.internal,
                                         d.options.arguments};
    return grpc::Status::OK;
  };
  return Change(call, Need::kManagement, vhost, parse, plan, [&](const core::Outcome& o) {
    if (!o.status.ok()) return ToGrpc(o.status);
    out->set_created(!existed);
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::DeleteExchange(grpc::ServerContext* call,
                                          const v1::DeleteExchangeRequest* r, v1::Empty*) {
  std::string vhost = VHostOf(r->vhost());
  return Change(call, Need::kManagement, vhost, [&, vhost](const Caller& c, auto& command) {
    if (grpc::Status s = Permit(c, vhost, Access::kConfigure, "exchange", r->name()); !s.ok())
      return s;
    command = core::cmd::DeleteExchange{vhost, r->name(), r->if_unused()};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::PermitBinding(const Caller& c, const std::string& vhost,
                                         bool to_queue, const std::string& destination,
                                         const std::string& source) const {
  if (grpc::Status s =
          Permit(c, vhost, Access::kWrite, to_queue ? "queue" : "exchange", destination);
      !s.ok())
    return s;
  return Permit(c, vhost, Access::kRead, "exchange", ExchangeResource(source));
}

grpc::Status AdminService::Bind(grpc::ServerContext* call, const v1::Binding* r, v1::Empty*) {
  amqp::FieldTable args;
  std::string vhost = VHostOf(r->vhost());
  bool to_queue = IsQueueKind(r->destination_kind());
  if (!to_queue && r->destination_kind() != "exchange" && r->destination_kind() != "e")
    return Invalid("destination_kind must be \"queue\" or \"exchange\"");
  auto parse = [&] { return ParseArguments(r->arguments(), args); };
  auto plan = [&, vhost, to_queue](const Caller& c, auto& command) {
    if (grpc::Status s = PermitBinding(c, vhost, to_queue, r->destination(), r->source());
        !s.ok())
      return s;
    command = core::cmd::Bind{vhost,    r->source(), r->destination(), r->routing_key(),
                              to_queue, args,        0};
    return grpc::Status::OK;
  };
  return Change(call, Need::kManagement, vhost, parse, plan);
}

grpc::Status AdminService::Unbind(grpc::ServerContext* call, const v1::UnbindRequest* r,
                                  v1::Empty*) {
  std::string vhost = VHostOf(r->vhost());
  bool to_queue = IsQueueKind(r->destination_kind());
  return Change(call, Need::kManagement, vhost, [&, vhost, to_queue](const Caller& c,
                                                                     auto& command) {
    if (grpc::Status s = PermitBinding(c, vhost, to_queue, r->destination(), r->source());
        !s.ok())
      return s;
    core::VHost& v = *broker().FindVHost(vhost);
    core::Exchange* source = v.FindExchange(r->source());
    if (!source) return NotFound("no exchange '" + r->source() + "' in vhost '" + vhost + "'");
    std::optional<core::BindingSpec> found;
    source->router().ForEach([&](const core::BindingSpec& b) {
      if (!found && b.destination.name == r->destination() &&
          (b.destination.kind == core::Destination::Kind::kQueue) == to_queue &&
          PropertiesKey(b.routing_key, b.arguments) == r->properties_key())
        found = b;
    });
    if (!found) return NotFound("no such binding");
    command = core::cmd::Unbind{vhost,    r->source(),        found->destination.name,
                                found->routing_key, to_queue, found->arguments, 0};
    return grpc::Status::OK;
  });
}

}  // namespace warren::admin
