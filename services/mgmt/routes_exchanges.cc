// Exchanges: /api/exchanges[/{vhost}[/{name}]] (GET, PUT declares, DELETE
// with if-unused), /publish (POST), /bindings/source and /destination. The
// default exchange is "amq.default" in paths and "" in listings.
#include "mgmt/body.h"
#include "mgmt/format.h"
#include "mgmt/listing.h"
#include "mgmt/router.h"

namespace warren::mgmt {
namespace {

using nlohmann::json;
using Stub = v1::Admin::Stub;

std::string ExchangeName(const Call& call) {
  return call.arg(1) == "amq.default" ? "" : call.arg(1);
}

Reply Exchanges(Call& call) {
  v1::ListExchangesResponse r;
  if (auto e = call.Rpc(&Stub::ListExchanges, call.ListScope(), r)) return *e;
  json items = json::array();
  for (const auto& x : r.exchanges()) {
    items.push_back(FormatExchange(x));
    // RabbitMQ's declaring user: the node does not record it.
    items.back()["user_who_performed_action"] = "";
  }
  if (call.args.size() < 2) return ListReply(call, std::move(items));
  for (json& x : items) {
    if (x["name"] != ExchangeName(call)) continue;
    // Alone, RabbitMQ adds its per-channel and per-queue figures (none:
    // Warren keeps no such samples, as RabbitMQ's basic rates mode).
    x["incoming"] = json::array();
    x["outgoing"] = json::array();
    return Json(std::move(x));
  }
  return NotFound("exchange '" + call.arg(1) + "' in vhost '" + call.arg(0) + "' not found");
}

Reply PutExchange(Call& call) {
  json body;
  if (auto e = ReadBody(call, {{"type", Type::kString, true}, {"durable", Type::kBool},
                               {"auto_delete", Type::kBool}, {"internal", Type::kBool},
                               {"arguments", Type::kObject}, {"name", Type::kString},
                               {"vhost", Type::kString}},
                        body))
    return *e;
  v1::DeclareExchangeRequest d;
  d.set_vhost(call.arg(0));
  d.set_name(ExchangeName(call));
  d.set_type(Text(body, "type"));
  d.set_durable(body.value("durable", true));
  d.set_auto_delete(body.value("auto_delete", false));
  d.set_internal(body.value("internal", false));
  d.set_arguments(Text(body, "arguments"));
  v1::DeclareResponse r;
  if (auto e = call.Rpc(&Stub::DeclareExchange, d, r)) return *e;
  return r.created() ? Created() : NoContent();
}

Reply DeleteExchange(Call& call) {
  v1::DeleteExchangeRequest d;
  d.set_vhost(call.arg(0));
  d.set_name(ExchangeName(call));
  d.set_if_unused(call.QueryFlag("if-unused"));
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::DeleteExchange, d, done)) return *e;
  return NoContent();
}

Reply Publish(Call& call) {
  json body;
  if (auto e = ReadBody(call, {{"routing_key", Type::kString, true},
                               {"payload", Type::kString, true},
                               {"payload_encoding", Type::kString, true},
                               {"properties", Type::kObject, true}, {"name", Type::kString},
                               {"vhost", Type::kString}},
                        body))
    return *e;
  v1::PublishRequest p;
  p.set_vhost(call.arg(0));
  p.set_exchange(ExchangeName(call));
  p.set_routing_key(Text(body, "routing_key"));
  p.set_payload(Text(body, "payload"));
  p.set_payload_encoding(Text(body, "payload_encoding"));
  p.set_properties(Text(body, "properties"));
  v1::PublishResponse r;
  if (auto e = call.Rpc(&Stub::Publish, p, r)) return *e;
  return Json({{"routed", r.routed()}});
}

// The bindings whose source (or, for an exchange, destination) this one is.
Reply ExchangeBindings(Call& call, bool source) {
  v1::ListExchangesResponse exchanges;
  if (auto e = call.Rpc(&Stub::ListExchanges, call.ListScope(), exchanges)) return *e;
  const std::string name = ExchangeName(call);
  bool found = false;
  for (const auto& x : exchanges.exchanges()) found = found || x.name() == name;
  if (!found) return NotFound("exchange '" + call.arg(1) + "' not found");
  v1::ListBindingsResponse r;
  if (auto e = call.Rpc(&Stub::ListBindings, call.ListScope(), r)) return *e;
  json items = json::array();
  for (const auto& b : r.bindings())
    if (source ? b.source() == name
               : b.destination_kind() == "exchange" && b.destination() == name)
      items.push_back(FormatBinding(b));
  return ListReply(call, std::move(items));
}

}  // namespace

void AddExchangeRoutes(Router& r) {
  r.Add("GET", "/api/exchanges", Exchanges);
  r.Add("GET", "/api/exchanges/{}", Exchanges);
  r.Add("GET", "/api/exchanges/{}/{}", Exchanges);
  r.Add("PUT", "/api/exchanges/{}/{}", PutExchange);
  r.Add("DELETE", "/api/exchanges/{}/{}", DeleteExchange);
  r.Add("POST", "/api/exchanges/{}/{}/publish", Publish);
  r.Add("GET", "/api/exchanges/{}/{}/bindings/source",
        [](Call& c) { return ExchangeBindings(c, true); });
  r.Add("GET", "/api/exchanges/{}/{}/bindings/destination",
        [](Call& c) { return ExchangeBindings(c, false); });
}

}  // namespace warren::mgmt
