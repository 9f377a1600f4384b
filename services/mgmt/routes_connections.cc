// Connections, channels, consumers: /api/connections[/{name}[/channels]]
// (DELETE closes, with the X-Reason header as the reason),
// /api/connections/username/{user} (GET, DELETE closes them all),
// /api/vhosts/{vhost}/{connections,channels}, /api/channels[/{name}],
// /api/consumers[/{vhost}].
#include <functional>
#include <map>
#include <type_traits>

#include "common/text.h"
#include "mgmt/format.h"
#include "mgmt/listing.h"
#include "mgmt/router.h"

namespace warren::mgmt {
namespace {

using nlohmann::json;
using Stub = v1::Admin::Stub;
template <typename T>
using RepeatedOf = google::protobuf::RepeatedPtrField<T>;

// The connections (channels) the node lists that `keep` keeps, formatted.
template <typename Response, typename Item>
std::optional<Reply> Listed(Call& call, Method<v1::ListRequest, Response> list,
                            const RepeatedOf<Item>& (Response::*items)() const,
                            json (*format)(const Item&),
                            std::type_identity_t<std::function<bool(const Item&)>> keep,
                            json& out) {
  Response r;
  if (auto e = call.Rpc(list, v1::ListRequest{}, r)) return e;
  out = json::array();
  for (const Item& item : (r.*items)())
    if (keep(item)) out.push_back(format(item));
  return std::nullopt;
}

std::optional<Reply> ConnectionsWhere(Call& call, std::function<bool(const v1::Connection&)> keep,
                                      json& out) {
  return Listed(call, &Stub::ListConnections, &v1::ListConnectionsResponse::connections,
                FormatConnection, std::move(keep), out);
}

// The node of every connection the node lists, by connection name.
std::optional<Reply> ConnectionNodes(Call& call, std::map<std::string, std::string>& out) {
  v1::ListConnectionsResponse r;
  if (auto e = call.Rpc(&Stub::ListConnections, v1::ListRequest{}, r)) return e;
  for (const auto& c : r.connections()) out[c.name()] = c.node();
  return std::nullopt;
}

std::optional<Reply> ChannelsWhere(Call& call, std::function<bool(const v1::Channel&)> keep,
                                   json& out) {
  std::map<std::string, std::string> nodes;
  if (auto e = ConnectionNodes(call, nodes)) return e;
  v1::ListChannelsResponse r;
  if (auto e = call.Rpc(&Stub::ListChannels, v1::ListRequest{}, r)) return e;
  out = json::array();
  for (const auto& c : r.channels())
    if (keep(c)) out.push_back(FormatChannel(c, nodes[c.connection()]));
  return std::nullopt;
}

Reply Connections(Call& call) {
  json items;
  if (auto e = ConnectionsWhere(call, [](const v1::Connection&) { return true; }, items))
    return *e;
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
  json items;
  auto of_user = [&](const v1::Connection& c) { return c.user() == call.arg(0); };
  if (auto e = ConnectionsWhere(call, of_user, items)) return *e;
  if (!close) return ListReply(call, std::move(items));
  for (const json& c : items)
    if (auto e = Close(call, c["name"].get<std::string>()); e && e->status != 404) return *e;
  return NoContent();
}

// The connections (channels, by `where`) of the vhost args[0]; 404 when
// there is no such vhost.
template <typename Item>
Reply InVHost(Call& call,
              std::optional<Reply> (*where)(Call&, std::function<bool(const Item&)>, json&)) {
  json items;
  if (auto e = RequireVHost(call, call.arg(0))) return *e;
  if (auto e = where(call, [&](const Item& i) { return i.vhost() == call.arg(0); }, items))
    return *e;
  return ListReply(call, std::move(items));
}

// One channel as RabbitMQ shows it alone: with its consumers, and its
// per-queue and per-exchange figures (none: Warren keeps no such samples,
// as RabbitMQ's basic rates mode).
Reply OneChannel(Call& call, json items) {
  json* found = nullptr;
  for (json& c : items)
    if (c["name"] == call.arg(0)) found = &c;
  if (!found) return NotFound("channel '" + call.arg(0) + "' not found");
  json consumers;
  v1::ListRequest all;
  all.set_all_vhosts(true);
  if (auto e = ConsumerObjects(call, all, consumers)) return *e;
  json mine = json::array();
  for (json& c : consumers)
    if (c["channel_details"]["name"] == call.arg(0)) mine.push_back(std::move(c));
  (*found)["consumer_details"] = std::move(mine);
  (*found)["deliveries"] = json::array();
  (*found)["publishes"] = json::array();
  return Json(std::move(*found));
}

// Every channel, those of connection args[0] (`of_connection`), or the one
// named args[0].
Reply Channels(Call& call, bool of_connection) {
  json items;
  if (of_connection) {
    auto named = [&](const v1::Connection& c) { return c.name() == call.arg(0); };
    if (auto e = ConnectionsWhere(call, named, items)) return *e;
    if (items.empty()) return NotFound("connection '" + call.arg(0) + "' not found");
  }
  auto kept = [&](const v1::Channel& c) { return !of_connection || c.connection() == call.arg(0); };
  if (auto e = ChannelsWhere(call, kept, items)) return *e;
  if (of_connection || call.args.empty()) return ListReply(call, std::move(items));
  return OneChannel(call, std::move(items));
}

Reply Consumers(Call& call) {
  json items;
  if (auto e = ConsumerObjects(call, call.ListScope(), items)) return *e;
  return ListReply(call, std::move(items));
}

}  // namespace

// The consumers the node lists in `scope`, each with its channel's user and
// node.
std::optional<Reply> ConsumerObjects(Call& call, const v1::ListRequest& scope, json& out) {
  std::map<std::string, std::string> nodes;
  if (auto e = ConnectionNodes(call, nodes)) return e;
  v1::ListChannelsResponse channels;
  if (auto e = call.Rpc(&Stub::ListChannels, v1::ListRequest{}, channels)) return e;
  std::map<std::string, const v1::Channel*> by_name;
  for (const auto& c : channels.channels())
    by_name[c.connection() + " (" + std::to_string(c.number()) + ")"] = &c;
  v1::ListConsumersResponse r;
  if (auto e = call.Rpc(&Stub::ListConsumers, scope, r)) return e;
  out = json::array();
  for (const auto& c : r.consumers()) {
    auto it = by_name.find(c.channel());
    const v1::Channel* ch = it == by_name.end() ? nullptr : it->second;
    out.push_back(FormatConsumer(c, ch ? ch->user() : "", ch ? nodes[ch->connection()] : ""));
  }
  return std::nullopt;
}

void AddConnectionRoutes(Router& r) {
  r.Add("GET", "/api/connections", Connections);
  // Before /api/connections/{}/channels, as RabbitMQ's order has it.
  r.Add("GET", "/api/connections/username/{}", [](Call& c) { return UserConnections(c, false); });
  r.Add("DELETE", "/api/connections/username/{}",
        [](Call& c) { return UserConnections(c, true); });
  r.Add("GET", "/api/vhosts/{}/connections",
        [](Call& c) { return InVHost<v1::Connection>(c, ConnectionsWhere); });
  r.Add("GET", "/api/vhosts/{}/channels",
        [](Call& c) { return InVHost<v1::Channel>(c, ChannelsWhere); });
  r.Add("GET", "/api/connections/{}", Connections);
  r.Add("DELETE", "/api/connections/{}", CloseConnection);
  r.Add("GET", "/api/connections/{}/channels", [](Call& c) { return Channels(c, true); });
  r.Add("GET", "/api/channels", [](Call& c) { return Channels(c, false); });
  r.Add("GET", "/api/channels/{}", [](Call& c) { return Channels(c, false); });
  r.Add("GET", "/api/consumers", Consumers);
  r.Add("GET", "/api/consumers/{}", Consumers);
}

}  // namespace warren::mgmt
