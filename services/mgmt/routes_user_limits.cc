// User limits, as RabbitMQ 3.13's API has them:
//   /api/user-limits[/{user}]        [{user, value: {"max-connections": N, ...}}]
//   /api/user-limits/{user}/{name}   PUT {value: N} merged into the user's, DELETE
// A listing leaves out users without limits; one user's is [] when it has
// none and 404 when it does not exist. The node enforces them (admin.proto).
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>

#include "mgmt/body.h"
#include "mgmt/listing.h"
#include "mgmt/user_limits.h"

namespace warren::mgmt {

using nlohmann::json;
using Stub = v1::Admin::Stub;

namespace {

constexpr const char* kNames[] = {"max-connections", "max-channels"};

// The limits of `user` (404 when there is none), or of every user when it
// is "": {user: {name: N}}, users without any left out.
std::optional<Reply> UserLimitsOf(Call& call, const std::string& user, json& out) {
  v1::UserRef ref;
  ref.set_name(user);
  v1::ListUserLimitsResponse r;
  if (auto e = call.Rpc(&Stub::ListUserLimits, ref, r)) return e;
  out = json::object();
  for (const auto& u : r.users()) {
    if (u.limits().empty()) continue;
    json value = json::object();
    for (const auto& [name, n] : u.limits()) value[name] = n;
    out[u.user()] = std::move(value);
  }
  return std::nullopt;
}

Reply UserLimits(Call& call) {
  json limits;
  if (auto e = UserLimitsOf(call, call.args.empty() ? "" : call.arg(0), limits)) return *e;
  json items = json::array();
  for (auto& [name, value] : limits.items())
    items.push_back({{"user", name}, {"value", std::move(value)}});
  return ListReply(call, std::move(items));
}

Reply PutUserLimit(Call& call) {
  json body;
  if (auto e = ReadBody(call, {{"value", Type::kAny, true}}, body)) return *e;
  v1::UserLimits limits;
  limits.set_user(call.arg(0));
  if (auto e = AddUserLimit(call.arg(1), body["value"], limits)) return *e;
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::SetUserLimits, limits, done)) return *e;
  return NoContent();
}

// {name} may be "all", as with rabbitmqctl clear_user_limits.
Reply DeleteUserLimit(Call& call) {
  v1::ClearUserLimitsRequest clear;
  clear.set_user(call.arg(0));
  clear.set_name(call.arg(1));
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::ClearUserLimits, clear, done)) return *e;
  return NoContent();
}

}  // namespace

std::optional<Reply> AddUserLimit(const std::string& name, const json& value,
                                  v1::UserLimits& out) {
  if (std::find(std::begin(kNames), std::end(kNames), name) == std::end(kNames))
    return BadRequest("Unrecognised user limit \"" + name +
                      "\": the limits are max-connections and max-channels");
  const bool fits = value.is_number_integer() &&
                    (!value.is_number_unsigned() ||
                     value.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max()));
  if (!fits) return BadRequest(name + " should be an integer, actually was " + Dump(value));
  (*out.mutable_limits())[name] = value.get<int64_t>();
  return std::nullopt;
}

void AddUserLimitRoutes(Router& r) {
  r.Add("GET", "/api/user-limits", UserLimits);
  r.Add("GET", "/api/user-limits/{}", UserLimits);
  r.Add("PUT", "/api/user-limits/{}/{}", PutUserLimit);
  r.Add("DELETE", "/api/user-limits/{}/{}", DeleteUserLimit);
}

}  // namespace warren::mgmt
