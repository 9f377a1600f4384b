// Connections, channels, consumers: /api/connections[/{name}[/channels]]
// (DELETE closes, with the X-Reason header as the reason),
// /api/connections/username/{user} (GET, DELETE closes them all),
// /api/vhosts/{vhost}/{connections,channels}, /api/channels[/{name}],
// /api/consumers[/{vhost}].
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

// Closes the connection `name`, with the X-Reason header as the reason.
std::optional<Reply> Close(Call& call, const std::string& name) {
  v1::CloseConnectionRequest c;
  c.set_name(name);
  std::string reason = ToUtf8(call.http.Header("X-Reason"));
  c.set_reason(reason.empty() ? "Closed via management plugin" : reason);
  v1::Empty done;
  return call.Rpc(&Stub::CloseConnection, c, done);
}

Reply CloseConnection(Call& call) {
  if (auto e = Close(call, call.arg(0))) return *e;
  return NoContent();
}

// The connections of the user args[0]; `close` closes them (one gone
// meanwhile is no error).
Reply UserConnections(Call& call, bool close) {
  v1::ListConnectionsResponse r;
  if (auto e = call.Rpc(&Stub::ListConnections, v1::ListRequest{}, r)) return *e;
  json items = json::array();
  for (const auto& c : r.connections()) {
    if (c.user() != call.arg(0)) continue;
    if (!close) {
      items.push_back(FormatConnection(c));
    } else if (auto e = Close(call, c.name()); e && e->status != 404) {
      return *e;
    }
  }
  return close ? NoContent() : ListReply(call, std::move(items));
}

// 404 unless the vhost args[0] exists.
std::optional<Reply> CheckVHost(Call& call) {
  v1::ListVHostsResponse r;
  if (auto e = call.Rpc(&Stub::ListVHosts, v1::Empty{}, r)) return e;
  for (const auto& v : r.vhosts())
    if (v.name() == call.arg(0)) return std::nullopt;
  return NotFound("vhost '" + call.arg(0) + "' not found");
}

Reply VHostConnections(Call& call) {
  if (auto e = CheckVHost(call)) return *e;
  v1::ListConnectionsResponse r;
  if (auto e = call.Rpc(&Stub::ListConnections, v1::ListRequest{}, r)) return *e;
  json items = json::array();
  for (const auto& c : r.connections())
    if (c.vhost() == call.arg(0)) items.push_back(FormatConnection(c));
  return ListReply(call, std::move(items));
}

Reply VHostChannels(Call& call) {
  if (auto e = CheckVHost(call)) return *e;
  v1::ListChannelsResponse r;
  if (auto e = call.Rpc(&Stub::ListChannels, v1::ListRequest{}, r)) return *e;
  json items = json::array();
  for (const auto& c : r.channels())
    if (c.vhost() == call.arg(0)) items.push_back(FormatChannel(c));
  return ListReply(call, std::move(items));
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
  // Before /api/connections/{}/channels, as RabbitMQ's order has it.
  r.Add("GET", "/api/connections/username/{}", [](Call& c) { return UserConnections(c, false); });
  r.Add("DELETE", "/api/connections/username/{}",
        [](Call& c) { return UserConnections(c, true); });
  r.Add("GET", "/api/vhosts/{}/connections", VHostConnections);
  r.Add("GET", "/api/vhosts/{}/channels", VHostChannels);
  r.Add("GET", "/api/connections/{}", Connections);
  r.Add("DELETE", "/api/connections/{}", CloseConnection);
  r.Add("GET", "/api/connections/{}/channels", [](Call& c) { return Channels(c, true); });
  r.Add("GET", "/api/channels", [](Call& c) { return Channels(c, false); });
  r.Add("GET", "/api/channels/{}", [](Call& c) { return Channels(c, false); });
  r.Add("GET", "/api/consumers", Consumers);
  r.Add("GET", "/api/consumers/{}", Consumers);
}

}  // namespace warren::mgmt
