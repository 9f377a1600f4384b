// Policies and operator policies (rabbitmqctl set_policy, clear_policy,
// list_policies, set_operator_policy, ...).
#include <nlohmann/json.hpp>

#include "broker/admin/admin_service.h"
#include "broker/admin/json_values.h"
#include "broker/core/broker.h"
#include "broker/core/policy.h"

namespace warren::admin {

grpc::Status AdminService::PutPolicy(grpc::ServerContext* call, const v1::Policy& request,
                                     bool operator_policy) {
  const v1::Policy* r = &request;
  core::Policy p;
  p.vhost = VHostOf(r->vhost());
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
  // Operator policies are an administrator's (RabbitMQ's rule).
  Need need = operator_policy ? Need::kAdministrator : Need::kPolicymaker;
  return Change(call, need, p.vhost, parse, [&](const Caller&, auto& command) {
    if (!broker().FindVHost(p.vhost)) return NoVHost(p.vhost);
    command = core::cmd::SetPolicy{p.vhost,     p.name,     p.pattern,          p.apply_to,
                                   p.priority, std::move(p.definition), operator_policy};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::DropPolicy(grpc::ServerContext* call, const v1::PolicyRef& r,
                                      bool operator_policy) {
  std::string vhost = VHostOf(r.vhost());
  Need need = operator_policy ? Need::kAdministrator : Need::kPolicymaker;
  return Change(call, need, vhost, [&](const Caller&, auto& command) {
    if (!broker().FindVHost(vhost)) return NoVHost(vhost);
    command = core::cmd::ClearPolicy{vhost, r.name(), operator_policy};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ListPolicyMap(grpc::ServerContext* call, const v1::VHostRef& r,
                                         bool operator_policy, v1::ListPoliciesResponse* out) {
  std::string vhost = VHostOf(r.name());
  return Run(call, Need::kManagement, vhost, [&](const Caller&) {
    core::VHost* v = broker().FindVHost(vhost);
    if (!v) return NoVHost(vhost);
    for (const auto& [name, p] : operator_policy ? v->operator_policies() : v->policies()) {
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

grpc::Status AdminService::SetPolicy(grpc::ServerContext* call, const v1::Policy* r, v1::Empty*) {
  return PutPolicy(call, *r, false);
}
grpc::Status AdminService::ClearPolicy(grpc::ServerContext* call, const v1::PolicyRef* r,
                                       v1::Empty*) {
  return DropPolicy(call, *r, false);
}
grpc::Status AdminService::ListPolicies(grpc::ServerContext* call, const v1::VHostRef* r,
                                        v1::ListPoliciesResponse* out) {
  return ListPolicyMap(call, *r, false, out);
}
grpc::Status AdminService::SetOperatorPolicy(grpc::ServerContext* call, const v1::Policy* r,
                                             v1::Empty*) {
  return PutPolicy(call, *r, true);
}
grpc::Status AdminService::ClearOperatorPolicy(grpc::ServerContext* call, const v1::PolicyRef* r,
                                               v1::Empty*) {
  return DropPolicy(call, *r, true);
}
grpc::Status AdminService::ListOperatorPolicies(grpc::ServerContext* call, const v1::VHostRef* r,
                                                v1::ListPoliciesResponse* out) {
  return ListPolicyMap(call, *r, true, out);
}

}  // namespace warren::admin
