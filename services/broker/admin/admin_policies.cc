// Policies (rabbitmqctl set_policy, clear_policy, list_policies).
#include <nlohmann/json.hpp>

#include "broker/admin/admin_service.h"
#include "broker/admin/json_values.h"
#include "broker/core/broker.h"
#include "broker/core/policy.h"

namespace warren::admin {

namespace {

std::string VHostOr(const std::string& vhost) { return vhost.empty() ? "/" : vhost; }

grpc::Status NoVHost(const std::string& name) {
  return NotFound("Virtual host \"" + name + "\" does not exist");
}

}  // namespace

grpc::Status AdminService::SetPolicy(grpc::ServerContext* call, const v1::Policy* r,
                                     v1::Empty*) {
  core::Policy p;
  p.vhost = VHostOr(r->vhost());
  p.name = r->name();
  p.pattern = r->pattern();
  p.priority = r->priority();
  auto apply = core::ParseApplyTo(r->apply_to().empty() ? "all" : r->apply_to());
  if (!apply) return Invalid("apply-to must be one of queues, exchanges, all");
  p.apply_to = *apply;
  if (p.name.empty()) return Invalid("a policy needs a name");
  auto parse = [&] {
    nlohmann::json d;
    std::string error;
    if (!ParseJson(r->definition(), "the policy definition", d, error)) return Invalid(error);
    if (!TableFromJson(d, p.definition, error))
      return Invalid("the policy definition must be a JSON object: " + error);
    return grpc::Status::OK;
  };
  return Change(call, Need::kPolicymaker, p.vhost, parse, [&](const Caller&, auto& command) {
    if (!broker().FindVHost(p.vhost)) return NoVHost(p.vhost);
    command = core::cmd::SetPolicy{p.vhost,     p.name,     p.pattern,
                                   p.apply_to, p.priority, std::move(p.definition)};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ClearPolicy(grpc::ServerContext* call, const v1::PolicyRef* r,
                                       v1::Empty*) {
  std::string vhost = VHostOr(r->vhost());
  return Change(call, Need::kPolicymaker, vhost, [&](const Caller&, auto& command) {
    if (!broker().FindVHost(vhost)) return NoVHost(vhost);
    command = core::cmd::ClearPolicy{vhost, r->name()};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ListPolicies(grpc::ServerContext* call, const v1::VHostRef* r,
                                        v1::ListPoliciesResponse* out) {
  std::string vhost = VHostOr(r->name());
  return Run(call, Need::kManagement, vhost, [&](const Caller&) {
    core::VHost* v = broker().FindVHost(vhost);
    if (!v) return NoVHost(vhost);
    for (const auto& [name, p] : v->policies()) {
      v1::Policy* o = out->add_policies();
      o->set_vhost(vhost);
      o->set_name(name);
      o->set_pattern(p.pattern);
      o->set_apply_to(core::ApplyToName(p.apply_to));
      o->set_priority(p.priority);
      o->set_definition(Dump(ToJson(p.definition)));
    }
    return grpc::Status::OK;
  });
}

}  // namespace warren::admin
