// Policies and operator policies: /api/policies[/{vhost}[/{name}]] and
// /api/operator-policies[/{vhost}[/{name}]] (GET, PUT, DELETE), the same
// bodies and objects; operator policies are an administrator's, and the
// node refuses keys an operator policy may not set (docs/parameters.md).
#include "mgmt/body.h"
#include "mgmt/format.h"
#include "mgmt/listing.h"
#include "mgmt/router.h"

namespace warren::mgmt {
namespace {

using nlohmann::json;
using Stub = v1::Admin::Stub;

// The node's calls for one kind of policy.
struct Kind {
  Method<v1::VHostRef, v1::ListPoliciesResponse> list;
  Method<v1::Policy, v1::Empty> set;
  Method<v1::PolicyRef, v1::Empty> clear;
  const char* what;  // for a 404's reason
};

const Kind kPolicies{&Stub::ListPolicies, &Stub::SetPolicy, &Stub::ClearPolicy, "policy"};
const Kind kOperatorPolicies{&Stub::ListOperatorPolicies, &Stub::SetOperatorPolicy,
                             &Stub::ClearOperatorPolicy, "operator policy"};

// The policies of one vhost, or of every vhost the caller sees.
std::optional<Reply> ListPolicies(Call& call, const Kind& kind, const std::string* vhost,
                                  json& items) {
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
    if (auto e = call.Rpc(kind.list, ref, r)) return e;
    for (const auto& p : r.policies()) items.push_back(FormatPolicy(p));
  }
  return std::nullopt;
}

Reply Policies(Call& call, const Kind& kind) {
  json items;
  if (auto e = ListPolicies(call, kind, call.args.empty() ? nullptr : &call.args[0], items))
    return *e;
  return ListOrOne(call, std::move(items), 1, kind.what);
}

Reply PutPolicy(Call& call, const Kind& kind) {
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
  if (auto e = ListPolicies(call, kind, &call.args[0], existing)) return *e;
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
  if (auto e = call.Rpc(kind.set, p, done)) return *e;
  return existed ? NoContent() : Created();
}

Reply DeletePolicy(Call& call, const Kind& kind) {
  v1::PolicyRef ref;
  ref.set_vhost(call.arg(0));
  ref.set_name(call.arg(1));
  v1::Empty done;
  if (auto e = call.Rpc(kind.clear, ref, done)) return *e;
  return NoContent();
}

}  // namespace

void AddPolicyRoutes(Router& r) {
  for (const auto& [base, kind] : {std::pair{std::string("/api/policies"), &kPolicies},
                                   std::pair{std::string("/api/operator-policies"),
                                             &kOperatorPolicies}}) {
    const Kind* k = kind;
    Handler list = [k](Call& c) { return Policies(c, *k); };
    r.Add("GET", base, list);
    r.Add("GET", base + "/{}", list);
    r.Add("GET", base + "/{}/{}", list);
    r.Add("PUT", base + "/{}/{}", [k](Call& c) { return PutPolicy(c, *k); });
    r.Add("DELETE", base + "/{}/{}", [k](Call& c) { return DeletePolicy(c, *k); });
  }
}

}  // namespace warren::mgmt
