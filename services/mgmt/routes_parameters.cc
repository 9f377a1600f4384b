// Runtime parameters, global parameters, vhost limits and the cluster's name
// (docs/parameters.md), as RabbitMQ 3.13's API has them:
//   /api/parameters[/{component}[/{vhost}[/{name}]]]   {value, vhost, component, name}
//   /api/global-parameters[/{name}]                     {name, value}
//   /api/vhost-limits[/{vhost}]                         {vhost, value: {max-queues: N, ...}}
//   /api/vhost-limits/{vhost}/{limit}                   PUT {value: N}, DELETE
//   /api/cluster-name                                   {name}
// A vhost's limits are its "vhost-limits" parameter "limits": PUT merges one
// key into it, DELETE removes one and clears the parameter when none is left.
// The node validates; its refusals come back as RabbitMQ's 400 bad_request
// ("Validation failed\n\ncomponent shovel not found\n").
#include "mgmt/body.h"
#include "mgmt/format.h"
#include "mgmt/listing.h"
#include "mgmt/router.h"

namespace warren::mgmt {
namespace {

using nlohmann::json;
using Stub = v1::Admin::Stub;

constexpr char kLimits[] = "vhost-limits";
constexpr char kLimitsName[] = "limits";

// RabbitMQ ends a validation failure's reason with a newline.
std::optional<Reply> Rpc(Call& call, Method<v1::Parameter, v1::Empty> method,
                         const v1::Parameter& request) {
  v1::Empty done;
  grpc::Status s = call.nodes.Call(call.caller, method, request, done);
  if (s.ok()) return std::nullopt;
  std::string text = s.error_message();
  if (text.rfind("Validation failed", 0) == 0 && text.back() != '\n') text += '\n';
  return FromGrpc(grpc::Status(s.error_code(), text));
}

// A parameter's value as JSON (null when the node's text is not JSON).
json Value(const std::string& text) {
  std::string why;
  std::optional<json> v = ParseUntrusted(text, why);
  return v ? *v : json(nullptr);
}

std::optional<Reply> ListParameters(Call& call, const v1::ListParametersRequest& request,
                                    v1::ListParametersResponse& out) {
  return call.Rpc(&Stub::ListParameters, request, out);
}

// --- Vhost parameters ---

Reply Parameters(Call& call) {
  v1::ListParametersRequest request;
  if (call.args.size() > 0) request.set_component(call.arg(0));
  if (call.args.size() > 1) request.set_vhost(call.arg(1));
  v1::ListParametersResponse r;
  if (auto e = ListParameters(call, request, r)) return *e;
  json items = json::array();
  for (const auto& p : r.parameters())
    items.push_back({{"value", Value(p.value())}, {"vhost", p.vhost()},
                     {"component", p.component()}, {"name", p.name()}});
  if (call.args.size() < 3) return ListReply(call, std::move(items));
  return OneOf(items, {{"name", call.arg(2)}}, "parameter");
}

// Whether the parameter the path names is set (for PUT's 201 or 204).
std::optional<Reply> ParameterExists(Call& call, const v1::ListParametersRequest& request,
                                     const std::string& name, bool& exists) {
  v1::ListParametersResponse r;
  if (auto e = ListParameters(call, request, r)) return e;
  exists = false;
  for (const auto& p : r.parameters()) exists = exists || p.name() == name;
  return std::nullopt;
}

Reply PutParameter(Call& call) {
  json body;
  if (auto e = ReadBody(call, {{"value", Type::kAny, true}, {"vhost", Type::kString},
                               {"component", Type::kString}, {"name", Type::kString}},
                        body))
    return *e;
  v1::ListParametersRequest scope;
  scope.set_component(call.arg(0));
  scope.set_vhost(call.arg(1));
  bool existed = false;
  if (auto e = ParameterExists(call, scope, call.arg(2), existed)) return *e;
  v1::Parameter p;
  p.set_component(call.arg(0));
  p.set_vhost(call.arg(1));
  p.set_name(call.arg(2));
  p.set_value(Dump(body["value"]));
  if (auto e = Rpc(call, &Stub::SetParameter, p)) return *e;
  return existed ? NoContent() : Created();
}

Reply ClearParameter(Call& call, const std::string& component, const std::string& vhost,
                     const std::string& name) {
  v1::ParameterRef ref;
  ref.set_component(component);
  ref.set_vhost(vhost);
  ref.set_name(name);
  v1::Empty done;
  if (auto e = call.Rpc(&Stub::ClearParameter, ref, done)) return *e;
  return NoContent();
}

// --- Global parameters ---

Reply GlobalParameters(Call& call) {
  v1::ListParametersRequest request;
  request.set_global(true);
  v1::ListParametersResponse r;
  if (auto e = ListParameters(call, request, r)) return *e;
  json items = json::array();
  for (const auto& p : r.parameters())
    items.push_back({{"name", p.name()}, {"value", Value(p.value())}});
  return ListOrOne(call, std::move(items), 0, "global parameter");
}

std::optional<Reply> SetGlobal(Call& call, const std::string& name, const json& value) {
  v1::Parameter p;
  p.set_name(name);
  p.set_value(Dump(value));
  return Rpc(call, &Stub::SetParameter, p);
}

Reply PutGlobalParameter(Call& call) {
  json body;
  if (auto e = ReadBody(call, {{"value", Type::kAny, true}, {"name", Type::kString}}, body))
    return *e;
  v1::ListParametersRequest scope;
  scope.set_global(true);
  bool existed = false;
  if (auto e = ParameterExists(call, scope, call.arg(0), existed)) return *e;
  if (auto e = SetGlobal(call, call.arg(0), body["value"])) return *e;
  return existed ? NoContent() : Created();
}

// --- The cluster's name ---

// The node's answer: the global parameter cluster_name, else member 1's
// node name; every member gives the same.
Reply ClusterName(Call& call) {
  v1::OverviewResponse o;
  if (auto e = call.Rpc(&Stub::Overview, v1::Empty{}, o)) return *e;
  return Json({{"name", o.cluster_name().empty() ? o.node_name() : o.cluster_name()}});
}

Reply PutClusterName(Call& call) {
  json body;
  if (auto e = ReadBody(call, {{"name", Type::kString, true}}, body)) return *e;
  if (auto e = SetGlobal(call, "cluster_name", body["name"])) return *e;
  return NoContent();
}

// --- Vhost limits ---

// The vhosts' limits objects ({vhost: {"max-queues": 10}}) of `vhost`, or of
// every vhost the caller sees when it is "" (404 when it does not exist).
std::optional<Reply> LimitsOf(Call& call, const std::string& vhost, json& out) {
  v1::ListParametersRequest request;
  request.set_component(kLimits);
  request.set_vhost(vhost);
  v1::ListParametersResponse r;
  if (auto e = ListParameters(call, request, r)) return e;
  out = json::object();
  for (const auto& p : r.parameters()) {
    json v = Value(p.value());
    if (p.name() == kLimitsName && v.is_object()) out[p.vhost()] = std::move(v);
  }
  return std::nullopt;
}

Reply VHostLimits(Call& call) {
  json limits;
  if (auto e = LimitsOf(call, call.args.empty() ? "" : call.arg(0), limits)) return *e;
  json items = json::array();
  for (auto& [vhost, value] : limits.items())
    items.push_back({{"vhost", vhost}, {"value", std::move(value)}});
  return ListReply(call, std::move(items));
}

// Sets the vhost's limits to `value`, or clears them when it is empty.
std::optional<Reply> StoreLimits(Call& call, const std::string& vhost, const json& value) {
  if (value.empty()) {
    Reply r = ClearParameter(call, kLimits, vhost, kLimitsName);
    if (r.status == 204 || r.status == 404) return std::nullopt;  // none left, or none set
    return r;
  }
  v1::Parameter p;
  p.set_component(kLimits);
  p.set_vhost(vhost);
  p.set_name(kLimitsName);
  p.set_value(Dump(value));
  return Rpc(call, &Stub::SetParameter, p);
}

Reply PutVHostLimit(Call& call) {
  json body;
  if (auto e = ReadBody(call, {{"value", Type::kAny, true}}, body)) return *e;
  json limits;
  if (auto e = LimitsOf(call, call.arg(0), limits)) return *e;
  json value = limits.value(call.arg(0), json::object());
  value[call.arg(1)] = body["value"];
  if (auto e = StoreLimits(call, call.arg(0), value)) return *e;
  return NoContent();
}

Reply DeleteVHostLimit(Call& call) {
  json limits;
  if (auto e = LimitsOf(call, call.arg(0), limits)) return *e;
  json value = limits.value(call.arg(0), json::object());
  if (value.erase(call.arg(1)) == 0) return NoContent();  // not set: as RabbitMQ, no error
  if (auto e = StoreLimits(call, call.arg(0), value)) return *e;
  return NoContent();
}

}  // namespace

void AddParameterRoutes(Router& r) {
  r.Add("GET", "/api/parameters", Parameters);
  r.Add("GET", "/api/parameters/{}", Parameters);
  r.Add("GET", "/api/parameters/{}/{}", Parameters);
  r.Add("GET", "/api/parameters/{}/{}/{}", Parameters);
  r.Add("PUT", "/api/parameters/{}/{}/{}", PutParameter);
  r.Add("DELETE", "/api/parameters/{}/{}/{}",
        [](Call& c) { return ClearParameter(c, c.arg(0), c.arg(1), c.arg(2)); });
  r.Add("GET", "/api/global-parameters", GlobalParameters);
  r.Add("GET", "/api/global-parameters/{}", GlobalParameters);
  r.Add("PUT", "/api/global-parameters/{}", PutGlobalParameter);
  r.Add("DELETE", "/api/global-parameters/{}",
        [](Call& c) { return ClearParameter(c, "", "", c.arg(0)); });
  r.Add("GET", "/api/cluster-name", ClusterName);
  r.Add("PUT", "/api/cluster-name", PutClusterName);
  r.Add("GET", "/api/vhost-limits", VHostLimits);
  r.Add("GET", "/api/vhost-limits/{}", VHostLimits);
  r.Add("PUT", "/api/vhost-limits/{}/{}", PutVHostLimit);
  r.Add("DELETE", "/api/vhost-limits/{}/{}", DeleteVHostLimit);
}

}  // namespace warren::mgmt
