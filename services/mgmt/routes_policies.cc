// Policies: /api/policies[/{vhost}[/{name}]] (GET, PUT, DELETE).
#include "mgmt/body.h"
#include "mgmt/format.h"
#include "mgmt/listing.h"
#include "mgmt/router.h"

namespace warren::mgmt {
namespace {

using nlohmann::json;
using Stub = v1::Admin::Stub;

// The policies of one vhost, or of every vhost the caller sees.
std::optional<Reply> ListPolicies(Call& call, const std::string* vhost, json& items) {
  std::vector<std::string> vhosts;
  if (vhost) {
    vhosts.push_back(*vhost);
  } else {
    v1::ListVHostsResponse r;
    if (auto e = call.Rpc(&Stub::ListVHosts, v1::Empty{}, r)) return e;
    for (const auto& v : r.vhosts()) vhosts.push_back(v.name());
  }
  items = json::array();
  for (const auto& name : vhosts) {
    v1::VHostRef ref;
    ref.set_name(name);
    v1::ListPoliciesResponse r;
    if (auto e = call.Rpc(&Stub::ListPolicies, ref, r)) return e;
    for (const auto& p : r.policies()) items.push_back(FormatPolicy(p));
  }
  return std::nullopt;
}

Reply Policies(Call& call) {
  json items;
  if (auto e = ListPolicies(call, call.args.empty() ? nullptr : &call.args[0], items)) return *e;
  return ListOrOne(call, std::move(items), 1, "policy");
}

Reply PutPolicy(Call& call) {
  json body;
  if (auto e = ReadBody(call, {{"pattern", Type::kString, true},
                               {"definition", Type::kObject, true}, {"priority", Type::kInteger},
                               {"apply-to", Type::kString}, {"name", Type::kString},
                               {"vhost", Type::kString}, {"component", Type::kString}},
                        body))
    return *e;
  const int64_t priority = body.value("priority", int64_t{0});
  if (priority < INT32_MIN || priority > INT32_MAX)
    return BadRequest("field 'priority' must be a 32-bit integer");
  json existing;
  if (auto e = ListPolicies(call, &call.args[0], existing)) return *e;
  bool existed = false;
  for (const auto& p : existing) existed = existed || p["name"] == call.arg(1);
  v1::Policy p;
  p.set_vhost(call.arg(0));
  p.set_name(call.arg(1));
  p.set_pattern(Text(body, "pattern"));
  p.set_definition(body["definition"].is_object() ? Dump(body["definition"]) : "{}");
  p.set_priority(static_cast<int32_t>(priority));
  p.set_apply_to(Text(body, "apply-to"));
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::SetPolicy, p, done)) return *e;
  return existed ? NoContent() : Created();
}

Reply DeletePolicy(Call& call) {
  v1::PolicyRef ref;
  ref.set_vhost(call.arg(0));
  ref.set_name(call.arg(1));
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::ClearPolicy, ref, done)) return *e;
  return NoContent();
}

}  // namespace

void AddPolicyRoutes(Router& r) {
  r.Add("GET", "/api/policies", Policies);
  r.Add("GET", "/api/policies/{}", Policies);
  r.Add("GET", "/api/policies/{}/{}", Policies);
  r.Add("PUT", "/api/policies/{}/{}", PutPolicy);
  r.Add("DELETE", "/api/policies/{}/{}", DeletePolicy);
}

}  // namespace warren::mgmt
