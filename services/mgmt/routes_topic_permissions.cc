// Topic permissions, as RabbitMQ 3.13's API has them: objects {user, vhost,
// exchange, write, read}, the patterns a user's routing keys must match to
// publish to (write) or bind from (read) one topic exchange of a vhost.
//   /api/topic-permissions                            every one
//   /api/topic-permissions/{vhost}/{user}             GET (404 when there are
//       none), PUT {exchange, write, read} (201 for the user's first in the
//       vhost, else 204), DELETE every exchange's
//   /api/topic-permissions/{vhost}/{user}/{exchange}  DELETE that exchange's
//   /api/vhosts/{vhost}/topic-permissions, /api/users/{user}/topic-permissions
// Listings are by vhost, then user (as RabbitMQ sorts them), then exchange.
// The node checks the patterns (a bad one is 400) and enforces them.
#include <algorithm>
#include <tuple>

#include "mgmt/body.h"
#include "mgmt/format.h"
#include "mgmt/listing.h"

namespace warren::mgmt {
namespace {

using nlohmann::json;
using Stub = v1::Admin::Stub;

// The topic permissions of `user` in `vhost` ("" for any) as the API's
// objects; 404 when a user or vhost named does not exist.
std::optional<Reply> TopicPermissionObjects(Call& call, const std::string& vhost,
                                            const std::string& user, json& out) {
  v1::ListTopicPermissionsRequest request;
  request.set_vhost(vhost);
  request.set_user(user);
  v1::ListTopicPermissionsResponse r;
  if (auto e = call.Rpc(&Stub::ListTopicPermissions, request, r)) return e;
  out = json::array();
  for (const auto& p : r.topic_permissions()) out.push_back(FormatTopicPermission(p));
  std::stable_sort(out.begin(), out.end(), [](const json& a, const json& b) {
    return std::tie(a["vhost"], a["user"], a["exchange"]) <
           std::tie(b["vhost"], b["user"], b["exchange"]);
  });
  return std::nullopt;
}

// The listing of those of `vhost` and `user` ("" for any).
Reply TopicPermissionListing(Call& call, const std::string& vhost, const std::string& user) {
  json items;
  if (auto e = TopicPermissionObjects(call, vhost, user, items)) return *e;
  return ListReply(call, std::move(items));
}

// Those of the user args[1] in the vhost args[0].
std::optional<Reply> OfUserInVHost(Call& call, json& out) {
  return TopicPermissionObjects(call, call.arg(0), call.arg(1), out);
}

Reply TopicPermissions(Call& call) {
  json items;
  if (auto e = OfUserInVHost(call, items)) return *e;
  if (items.empty()) return NotFound();
  return Json(items);
}

Reply PutTopicPermission(Call& call) {
  json body;
  if (auto e = ReadBody(call, {{"exchange", Type::kString, true}, {"write", Type::kString, true},
                               {"read", Type::kString, true}},
                        body))
    return *e;
  json existing;
  if (auto e = OfUserInVHost(call, existing))
    return e->status == 404 ? BadRequest("vhost_or_user_not_found") : *e;
  v1::TopicPermission p;
  p.set_vhost(call.arg(0));
  p.set_user(call.arg(1));
  p.set_exchange(Text(body, "exchange"));
  p.set_write(Text(body, "write"));
  p.set_read(Text(body, "read"));
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::SetTopicPermission, p, done)) return *e;
  return existing.empty() ? Created() : NoContent();
}

// 404 when the user has none in the vhost; clearing an exchange that has
// none while others do is no error, as in RabbitMQ.
Reply DeleteTopicPermissions(Call& call) {
  json existing;
  if (auto e = OfUserInVHost(call, existing)) return *e;
  if (existing.empty()) return NotFound();
  v1::ClearTopicPermissionsRequest clear;
  clear.set_vhost(call.arg(0));
  clear.set_user(call.arg(1));
  if (call.args.size() > 2) {
    clear.set_exchange(call.arg(2));
    auto has = [&](const json& p) { return p["exchange"] == call.arg(2); };
    if (std::none_of(existing.begin(), existing.end(), has)) return NoContent();
  }
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::ClearTopicPermissions, clear, done)) return *e;
  return NoContent();
}

}  // namespace

void AddTopicPermissionRoutes(Router& r) {
  r.Add("GET", "/api/topic-permissions",
        [](Call& c) { return TopicPermissionListing(c, "", ""); });
  r.Add("GET", "/api/topic-permissions/{}/{}", TopicPermissions);
  r.Add("PUT", "/api/topic-permissions/{}/{}", PutTopicPermission);
  r.Add("DELETE", "/api/topic-permissions/{}/{}", DeleteTopicPermissions);
  r.Add("DELETE", "/api/topic-permissions/{}/{}/{}", DeleteTopicPermissions);
  r.Add("GET", "/api/vhosts/{}/topic-permissions",
        [](Call& c) { return TopicPermissionListing(c, c.arg(0), ""); });
  r.Add("GET", "/api/users/{}/topic-permissions",
        [](Call& c) { return TopicPermissionListing(c, "", c.arg(0)); });
}

}  // namespace warren::mgmt
