// Bindings: /api/bindings[/{vhost}], and between two objects
// /api/bindings/{vhost}/e/{source}/q|e/{destination} (GET lists, POST binds
// and answers 201 with the new binding's Location), .../{props} (GET,
// DELETE), where {props} is the binding's properties_key.
#include "mgmt/body.h"
#include "mgmt/format.h"
#include "mgmt/listing.h"
#include "mgmt/router.h"

namespace warren::mgmt {
namespace {

using nlohmann::json;
using Stub = v1::Admin::Stub;

// args: vhost, source, destination[, props]; `kind` "queue" or "exchange".
std::optional<Reply> Between(Call& call, const std::string& kind, json& items) {
  v1::ListRequest scope;
  scope.set_vhost(call.arg(0));
  v1::ListBindingsResponse r;
  if (auto e = call.Rpc(&Stub::ListBindings, scope, r)) return e;
  items = json::array();
  const std::string source = call.arg(1) == "amq.default" ? "" : call.arg(1);
  for (const auto& b : r.bindings())
    if (b.source() == source && b.destination_kind() == kind && b.destination() == call.arg(2))
      items.push_back(FormatBinding(b));
  return std::nullopt;
}

Reply All(Call& call) {
  v1::ListBindingsResponse r;
  if (auto e = call.Rpc(&Stub::ListBindings, call.ListScope(), r)) return *e;
  json items = json::array();
  for (const auto& b : r.bindings()) items.push_back(FormatBinding(b));
  return ListReply(call, std::move(items));
}

Reply List(Call& call, const std::string& kind) {
  json items;
  if (auto e = Between(call, kind, items)) return *e;
  return ListReply(call, std::move(items));
}

Reply Create(Call& call, const std::string& kind) {
  json body;
  if (auto e = ReadBody(call, {{"routing_key", Type::kString}, {"arguments", Type::kObject},
                               {"vhost", Type::kString}, {"source", Type::kString},
                               {"destination", Type::kString},
                               {"destination_type", Type::kString}},
                        body))
    return *e;
  v1::Binding b;
  b.set_vhost(call.arg(0));
  b.set_source(call.arg(1));
  b.set_destination(call.arg(2));
  b.set_destination_kind(kind);
  b.set_routing_key(Text(body, "routing_key"));
  b.set_arguments(Text(body, "arguments"));
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::Bind, b, done)) return *e;
  // The new binding's key, as the node computes it.
  json items;
  if (auto e = Between(call, kind, items)) return *e;
  json args = body.contains("arguments") && body["arguments"].is_object() ? body["arguments"]
                                                                          : json::object();
  std::string props;
  for (const auto& item : items)
    if (item["routing_key"] == b.routing_key() && item["arguments"] == args)
      props = item["properties_key"];
  return Created("/api/bindings/" + EncodeSegment(call.arg(0)) + "/e/" +
                 EncodeSegment(call.arg(1)) + "/" + kind.substr(0, 1) + "/" +
                 EncodeSegment(call.arg(2)) + "/" + EncodeSegment(props));
}

Reply One(Call& call, const std::string& kind) {
  json items;
  if (auto e = Between(call, kind, items)) return *e;
  return OneOf(items, {{"properties_key", call.arg(3)}}, "binding '" + call.arg(3) + "'");
}

Reply Delete(Call& call, const std::string& kind) {
  v1::UnbindRequest u;
  u.set_vhost(call.arg(0));
  u.set_source(call.arg(1));
  u.set_destination(call.arg(2));
  u.set_destination_kind(kind);
  u.set_properties_key(call.arg(3));
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::Unbind, u, done)) return *e;
  return NoContent();
}

}  // namespace

void AddBindingRoutes(Router& r) {
  r.Add("GET", "/api/bindings", All);
  r.Add("GET", "/api/bindings/{}", All);
  for (const std::string kind : {"queue", "exchange"}) {
    const std::string base = "/api/bindings/{}/e/{}/" + kind.substr(0, 1) + "/{}";
    r.Add("GET", base, [kind](Call& c) { return List(c, kind); });
    r.Add("POST", base, [kind](Call& c) { return Create(c, kind); });
    r.Add("GET", base + "/{}", [kind](Call& c) { return One(c, kind); });
    r.Add("DELETE", base + "/{}", [kind](Call& c) { return Delete(c, kind); });
  }
}

}  // namespace warren::mgmt
