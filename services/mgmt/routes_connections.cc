// Connections, channels, consumers: /api/connections[/{name}[/channels]]
// (DELETE closes, with the X-Reason header as the reason),
// /api/channels[/{name}], /api/consumers[/{vhost}].
#include "common/text.h"
#include "mgmt/format.h"
#include "mgmt/listing.h"
#include "mgmt/router.h"

namespace warren::mgmt {
namespace {

using nlohmann::json;
using Stub = v1::Admin::Stub;

Reply Connections(Call& call) {
  v1::ListConnectionsResponse r;
  if (auto e = call.Rpc(&Stub::ListConnections, v1::ListRequest{}, r)) return *e;
  json items = json::array();
  for (const auto& c : r.connections()) items.push_back(FormatConnection(c));
  return ListOrOne(call, std::move(items), 0, "connection");
}

Reply CloseConnection(Call& call) {
  v1::CloseConnectionRequest c;
  c.set_name(call.arg(0));
  std::string reason = ToUtf8(call.http.Header("X-Reason"));
  c.set_reason(reason.empty() ? "Closed via management plugin" : reason);
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::CloseConnection, c, done)) return *e;
  return NoContent();
}

// Every channel, those of connection args[0] (`of_connection`), or the one
// named args[0].
Reply Channels(Call& call, bool of_connection) {
  if (of_connection) {
    v1::ListConnectionsResponse conns;
    if (auto e = call.Rpc(&Stub::ListConnections, v1::ListRequest{}, conns)) return *e;
    bool found = false;
    for (const auto& c : conns.connections()) found = found || c.name() == call.arg(0);
    if (!found) return NotFound("connection '" + call.arg(0) + "' not found");
  }
  v1::ListChannelsResponse r;
  if (auto e = call.Rpc(&Stub::ListChannels, v1::ListRequest{}, r)) return *e;
  json items = json::array();
  for (const auto& c : r.channels())
    if (!of_connection || c.connection() == call.arg(0)) items.push_back(FormatChannel(c));
  if (of_connection) return ListReply(call, std::move(items));
  return ListOrOne(call, std::move(items), 0, "channel");
}

Reply Consumers(Call& call) {
  v1::ListConsumersResponse r;
  if (auto e = call.Rpc(&Stub::ListConsumers, call.ListScope(), r)) return *e;
  json items = json::array();
  for (const auto& c : r.consumers()) items.push_back(FormatConsumer(c));
  return ListReply(call, std::move(items));
}

}  // namespace

void AddConnectionRoutes(Router& r) {
  r.Add("GET", "/api/connections", Connections);
  r.Add("GET", "/api/connections/{}", Connections);
  r.Add("DELETE", "/api/connections/{}", CloseConnection);
  r.Add("GET", "/api/connections/{}/channels", [](Call& c) { return Channels(c, true); });
  r.Add("GET", "/api/channels", [](Call& c) { return Channels(c, false); });
  r.Add("GET", "/api/channels/{}", [](Call& c) { return Channels(c, false); });
  r.Add("GET", "/api/consumers", Consumers);
  r.Add("GET", "/api/consumers/{}", Consumers);
}

}  // namespace warren::mgmt
