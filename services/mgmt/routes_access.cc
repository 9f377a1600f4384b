// Virtual hosts, users and permissions: /api/vhosts[/{vhost}[/permissions]],
// /api/users[/{user}[/permissions]], /api/users/without-permissions,
// /api/users/bulk-delete, /api/permissions[/{vhost}/{user}].
#include <map>
#include <set>

#include <openssl/rand.h>

#include "mgmt/body.h"
#include "mgmt/format.h"
#include "mgmt/listing.h"
#include "mgmt/rates.h"
#include "mgmt/router.h"
#include "mgmt/user_limits.h"

namespace warren::mgmt {
namespace {

using nlohmann::json;
using Stub = v1::Admin::Stub;


// RabbitMQ's cluster_state of a vhost: {node: "running"} per running node.
// A Warren vhost runs wherever its node does. The members need the
// monitoring tag; without it, the node asked alone.
std::optional<Reply> VHostClusterState(Call& call, json& out) {
  out = json::object();
  v1::ClusterStatusResponse c;
  grpc::Status s = call.nodes.Call(call.caller, &Stub::ClusterStatus, v1::Empty{}, c);
  if (s.ok()) {
    for (const auto& m : c.members()) {
      const std::string& name = m.id() == c.self_id() ? c.node().node_name() : m.node_name();
      if (m.running() && !name.empty()) out[name] = "running";
    }
    if (!out.empty()) return std::nullopt;
  } else if (s.error_code() != grpc::StatusCode::PERMISSION_DENIED) {
    return FromGrpc(s);
  }
  v1::OverviewResponse o;
  if (auto e = call.Rpc(&Stub::Overview, v1::Empty{}, o)) return e;
  out[o.node_name()] = "running";
  return std::nullopt;
}

Reply VHosts(Call& call) {
  v1::ListVHostsResponse r;
  if (auto e = call.Rpc(&Stub::ListVHosts, v1::Empty{}, r)) return *e;
  json state;
  if (auto e = VHostClusterState(call, state)) return *e;
  json items = json::array();
  for (const auto& v : r.vhosts()) {
    items.push_back(FormatVHost(v));
    items.back()["cluster_state"] = state;
  }
  if (!call.QueryFlag("disable_stats")) AddVHostStats(call, items);
  return ListOrOne(call, std::move(items), 0, "vhost");
}

// As RabbitMQ 3.13's PUT: a new vhost, its creator given full permissions
// on it (201); or an existing one's description and tags replaced, its
// default queue type and tracing only when given (204).
Reply PutVHost(Call& call) {
  json body;
  if (auto e = ReadBody(call, {{"name", Type::kString}, {"description", Type::kString},
                               {"tags", Type::kTags}, {"default_queue_type", Type::kString},
                               {"defaultqueuetype", Type::kString}, {"tracing", Type::kBool}},
                        body))
    return *e;
  v1::AddVHostRequest add;
  add.set_name(call.arg(0));
  add.set_description(Text(body, "description"));
  for (const auto& t : TagList(body.value("tags", json()))) add.add_tags(t);
  // 3.11's name for it, which RabbitMQ still reads.
  add.set_default_queue_type(body.contains("default_queue_type")
                                 ? Text(body, "default_queue_type")
                                 : Text(body, "defaultqueuetype"));
  add.set_tracing(body.value("tracing", false));
  add.set_grant_caller(true);
  v1::Empty done;
  grpc::Status s = call.nodes.Call(call.caller, &Stub::AddVHost, add, done);
  if (s.ok()) return Created();
  if (s.error_code() != grpc::StatusCode::ALREADY_EXISTS) return FromGrpc(s);
  v1::ListVHostsResponse r;
  if (auto e = call.Rpc(&Stub::ListVHosts, v1::Empty{}, r)) return *e;
  for (const auto& v : r.vhosts()) {
    if (v.name() != add.name()) continue;
    if (add.default_queue_type().empty()) add.set_default_queue_type(v.default_queue_type());
    if (!body.contains("tracing")) add.set_tracing(v.tracing());
  }
  add.set_update(true);
  add.set_grant_caller(false);
  if (auto e = call.Rpc(&Stub::AddVHost, add, done)) return *e;
  return NoContent();
}

Reply DeleteVHost(Call& call) {
  v1::VHostRef ref;
  ref.set_name(call.arg(0));
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::DeleteVHost, ref, done)) return *e;
  return NoContent();
}

Reply FromPermissions(Call& call, const v1::ListPermissionsResponse& r) {
  json items = json::array();
  for (const auto& p : r.permissions()) items.push_back(FormatPermission(p));
  return ListReply(call, std::move(items));
}

Reply VHostPermissions(Call& call) {
  v1::VHostRef ref;
  ref.set_name(call.arg(0));
  v1::ListPermissionsResponse r;
  if (auto e = call.Rpc(&Stub::ListPermissions, ref, r)) return *e;
  return FromPermissions(call, r);
}

// The users as the API lists them, with their password hashes and limits.
std::optional<Reply> UserObjects(Call& call, json& out) {
  v1::ListUsersResponse r;
  if (auto e = call.Rpc(&Stub::ListUsers, v1::Empty{}, r)) return e;
  out = json::array();
  for (const auto& u : r.users()) out.push_back(FormatUser(u));
  return std::nullopt;
}

Reply Users(Call& call) {
  json items;
  if (auto e = UserObjects(call, items)) return *e;
  return ListOrOne(call, std::move(items), 0, "user");
}

// Users with no permission in any vhost.
Reply UsersWithoutPermissions(Call& call) {
  json users;
  if (auto e = UserObjects(call, users)) return *e;
  v1::ListVHostsResponse vhosts;
  if (auto e = call.Rpc(&Stub::ListVHosts, v1::Empty{}, vhosts)) return *e;
  std::set<std::string> with;
  for (const auto& v : vhosts.vhosts()) {
    v1::VHostRef ref;
    ref.set_name(v.name());
    v1::ListPermissionsResponse r;
    if (auto e = call.Rpc(&Stub::ListPermissions, ref, r)) return *e;
    for (const auto& p : r.permissions()) with.insert(p.user());
  }
  json items = json::array();
  for (json& u : users)
    if (!with.count(u["name"].get<std::string>())) items.push_back(std::move(u));
  return ListReply(call, std::move(items));
}

// {"users": [...]}: each deleted; one that does not exist is no error.
Reply BulkDeleteUsers(Call& call) {
  json body;
  if (auto e = ReadBody(call, {{"users", Type::kStrings, true}}, body)) return *e;
  for (const json& name : body["users"]) {
    v1::UserRef ref;
    ref.set_name(name.get<std::string>());
    v1::Empty done;
    grpc::Status s = call.nodes.Call(call.caller, &Stub::DeleteUser, ref, done);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) return FromGrpc(s);
  }
  return NoContent();
}

// A user no password opens (RabbitMQ's user without a password).
std::string UnguessablePassword() {
  unsigned char raw[32];
  RAND_bytes(raw, sizeof raw);
  std::string out;
  for (unsigned char c : raw) out += "0123456789abcdef"[c & 15];
  return out;
}

Reply PutUser(Call& call) {
  json body;
  if (auto e = ReadBody(call, {{"name", Type::kString}, {"password", Type::kString},
                               {"password_hash", Type::kString},
                               {"hashing_algorithm", Type::kString}, {"tags", Type::kTags},
                               {"limits", Type::kObject}},
                        body))
    return *e;
  const std::string password = Text(body, "password"), hash = Text(body, "password_hash");
  if (!password.empty() && !hash.empty())
    return BadRequest("give a password or a password_hash, not both");
  if (std::string algo = Text(body, "hashing_algorithm");
      !algo.empty() && algo != "rabbit_password_hashing_sha256")
    return BadRequest("hashing_algorithm must be rabbit_password_hashing_sha256");
  // As RabbitMQ: limits given are checked before anything is done, then
  // merged into the user's.
  v1::UserLimits limits;
  limits.set_user(call.arg(0));
  const json given = body.value("limits", json::object());
  for (const auto& [name, value] : given.items())
    if (auto e = AddUserLimit(name, value, limits)) return *e;
  v1::AddUserRequest add;
  add.set_name(call.arg(0));
  add.set_password(password.empty() && hash.empty() ? UnguessablePassword() : password);
  add.set_password_hash(hash);
  v1::Empty done;
  grpc::Status s = call.nodes.Call(call.caller, &Stub::AddUser, add, done);
  const bool existed = s.error_code() == grpc::StatusCode::ALREADY_EXISTS;
  if (!s.ok() && !existed) return FromGrpc(s);
  if (existed && (!password.empty() || !hash.empty())) {
    v1::ChangePasswordRequest change;
    change.set_name(call.arg(0));
    change.set_password(password);
    change.set_password_hash(hash);
    if (auto e = call.Rpc(&Stub::ChangePassword, change, done)) return *e;
  }
  v1::SetUserTagsRequest tags;
  tags.set_name(call.arg(0));
  for (const auto& t : TagList(body.value("tags", json()))) tags.add_tags(t);
  if (auto e = call.Rpc(&Stub::SetUserTags, tags, done)) return *e;
  if (!limits.limits().empty())
    if (auto e = call.Rpc(&Stub::SetUserLimits, limits, done)) return *e;
  return existed ? NoContent() : Created();
}

Reply DeleteUser(Call& call) {
  v1::UserRef ref;
  ref.set_name(call.arg(0));
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::DeleteUser, ref, done)) return *e;
  return NoContent();
}

Reply UserPermissions(Call& call) {
  v1::UserRef ref;
  ref.set_name(call.arg(0));
  v1::ListPermissionsResponse r;
  if (auto e = call.Rpc(&Stub::ListUserPermissions, ref, r)) return *e;
  return FromPermissions(call, r);
}

Reply AllPermissions(Call& call) {
  v1::ListUsersResponse users;
  if (auto e = call.Rpc(&Stub::ListUsers, v1::Empty{}, users)) return *e;
  v1::ListPermissionsResponse all;
  for (const auto& u : users.users()) {
    v1::UserRef ref;
    ref.set_name(u.name());
    v1::ListPermissionsResponse r;
    if (auto e = call.Rpc(&Stub::ListUserPermissions, ref, r)) return *e;
    all.mutable_permissions()->MergeFrom(r.permissions());
  }
  return FromPermissions(call, all);
}

// The permission of {vhost}/{user}, if set; an error reply otherwise.
std::optional<Reply> FindPermission(Call& call, std::optional<v1::Permission>& out) {
  v1::VHostRef ref;
  ref.set_name(call.arg(0));
  v1::ListPermissionsResponse r;
  if (auto e = call.Rpc(&Stub::ListPermissions, ref, r)) return e;
  for (const auto& p : r.permissions())
    if (p.user() == call.arg(1)) out = p;
  return std::nullopt;
}

Reply Permission(Call& call) {
  std::optional<v1::Permission> p;
  if (auto e = FindPermission(call, p)) return *e;
  if (!p) return NotFound("no permissions for user '" + call.arg(1) + "' in vhost '" +
                          call.arg(0) + "'");
  return Json(FormatPermission(*p));
}

Reply PutPermission(Call& call) {
  json body;
  if (auto e = ReadBody(call, {{"configure", Type::kString, true}, {"write", Type::kString, true},
                               {"read", Type::kString, true}, {"user", Type::kString},
                               {"vhost", Type::kString}},
                        body))
    return *e;
  // A vhost or user that does not exist is the request's fault: 400, as
  // RabbitMQ answers it (GET and DELETE answer 404).
  auto missing = [](const Reply& e) {
    return e.status == 404 ? BadRequest("vhost_or_user_not_found") : e;
  };
  std::optional<v1::Permission> existing;
  if (auto e = FindPermission(call, existing)) return missing(*e);
  v1::Permission p;
  p.set_vhost(call.arg(0));
  p.set_user(call.arg(1));
  p.set_configure(Text(body, "configure"));
  p.set_write(Text(body, "write"));
  p.set_read(Text(body, "read"));
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::SetPermissions, p, done)) return missing(*e);
  return existing ? NoContent() : Created();
}

Reply DeletePermission(Call& call) {
  std::optional<v1::Permission> existing;
  if (auto e = FindPermission(call, existing)) return *e;
  if (!existing) return NotFound("no permissions for user '" + call.arg(1) + "' in vhost '" +
                                 call.arg(0) + "'");
  v1::ClearPermissionsRequest clear;
  clear.set_vhost(call.arg(0));
  clear.set_user(call.arg(1));
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::ClearPermissions, clear, done)) return *e;
  return NoContent();
}

}  // namespace

void AddAccessRoutes(Router& r) {
  r.Add("GET", "/api/vhosts", VHosts);
  r.Add("GET", "/api/vhosts/{}", VHosts);
  r.Add("PUT", "/api/vhosts/{}", PutVHost);
  r.Add("DELETE", "/api/vhosts/{}", DeleteVHost);
  r.Add("GET", "/api/vhosts/{}/permissions", VHostPermissions);
  r.Add("GET", "/api/users", Users);
  // Before /api/users/{}, which would take their names as users'.
  r.Add("GET", "/api/users/without-permissions", UsersWithoutPermissions);
  r.Add("POST", "/api/users/bulk-delete", BulkDeleteUsers);
  r.Add("GET", "/api/users/{}", Users);
  r.Add("PUT", "/api/users/{}", PutUser);
  r.Add("DELETE", "/api/users/{}", DeleteUser);
  r.Add("GET", "/api/users/{}/permissions", UserPermissions);
  r.Add("GET", "/api/permissions", AllPermissions);
  r.Add("GET", "/api/permissions/{}/{}", Permission);
  r.Add("PUT", "/api/permissions/{}/{}", PutPermission);
  r.Add("DELETE", "/api/permissions/{}/{}", DeletePermission);
}

}  // namespace warren::mgmt
