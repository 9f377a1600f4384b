// Runtime parameters, global parameters and vhost limits (rabbitmqctl
// set_parameter, set_global_parameter, set_vhost_limits, set_cluster_name
// and their clear_ and list_ commands; docs/parameters.md).
#include "broker/admin/admin_service.h"
#include "broker/core/broker.h"
#include "broker/core/parameters.h"

namespace warren::admin {

namespace {

bool IsGlobal(const std::string& component, const std::string& vhost) {
  return component.empty() && vhost.empty();
}

// Global parameters and vhost limits are an administrator's; the other
// components a policymaker's in its vhosts (as RabbitMQ has them).
Need NeedFor(const std::string& component, const std::string& vhost) {
  if (IsGlobal(component, vhost) || component == core::kVHostLimitsComponent)
    return Need::kAdministrator;
  return Need::kPolicymaker;
}

}  // namespace

grpc::Status AdminService::SetParameter(grpc::ServerContext* call, const v1::Parameter* r,
                                        v1::Empty*) {
  bool global = r->component().empty();
  std::string vhost = global ? std::string() : VHostOf(r->vhost());
  if (global && !r->vhost().empty()) return Invalid("a global parameter has no vhost");
  auto parse = [&] { return ToGrpc(core::ValidateParameter(r->component(), r->name(), r->value())); };
  return Change(call, NeedFor(r->component(), vhost), vhost, parse,
                [&](const Caller&, auto& command) {
                  if (!global && !broker().FindVHost(vhost))
                    return NotFound("Virtual host \"" + vhost + "\" does not exist");
                  command = core::cmd::SetParameter{r->component(), vhost, r->name(), r->value()};
                  return grpc::Status::OK;
                });
}

grpc::Status AdminService::ClearParameter(grpc::ServerContext* call, const v1::ParameterRef* r,
                                          v1::Empty*) {
  bool global = r->component().empty();
  std::string vhost = global ? std::string() : VHostOf(r->vhost());
  return Change(call, NeedFor(r->component(), vhost), vhost, [&](const Caller&, auto& command) {
    if (!broker().FindParameter({r->component(), vhost, r->name()}))
      return NotFound("Parameter does not exist");
    command = core::cmd::ClearParameter{r->component(), vhost, r->name()};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ListParameters(grpc::ServerContext* call,
                                          const v1::ListParametersRequest* r,
                                          v1::ListParametersResponse* out) {
  Need need = r->global() ? Need::kAdministrator : Need::kManagement;
  return Run(call, need, r->global() ? "" : r->vhost(), [&](const Caller& c) {
    if (!r->global() && !r->vhost().empty() && !broker().FindVHost(r->vhost()))
      return NotFound("Virtual host \"" + r->vhost() + "\" does not exist");
    for (const auto& [key, value] : broker().parameters()) {
      const auto& [component, vhost, name] = key;
      if (r->global() != IsGlobal(component, vhost)) continue;
      if (!r->global()) {
        if (!r->vhost().empty() && vhost != r->vhost()) continue;
        if (!r->component().empty() && component != r->component()) continue;
        if (!c.sees_all() && !broker().CanAccessVHost(c.user, vhost)) continue;
      }
      v1::Parameter* o = out->add_parameters();
      o->set_component(component);
      o->set_vhost(vhost);
      o->set_name(name);
      o->set_value(value);
    }
    return grpc::Status::OK;
  });
}

}  // namespace warren::admin
