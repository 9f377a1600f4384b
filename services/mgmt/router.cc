#include "mgmt/router.h"

#include <string_view>

#include "http/query.h"
#include "mgmt/listing.h"
#include "mgmt/rates.h"

namespace warren::mgmt {
namespace {

// HEAD is served by the GET route of the same path.
bool Takes(const std::string& route_method, const std::string& method) {
  return route_method == method || (method == "HEAD" && route_method == "GET");
}

// What RabbitMQ answers when the path or the object it names does not exist.
Reply ObjectNotFound() { return Error(404, "Object Not Found", "Not Found"); }

bool Matches(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
             std::vector<std::string>& args) {
  if (pattern.size() != path.size()) return false;
  args.clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == "{}") args.push_back(path[i]);
    else if (pattern[i] != path[i]) return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> PathSegments(const std::string& target) {
  std::string path = target.substr(0, target.find('?'));
  std::vector<std::string> out;
  size_t start = path.empty() || path[0] != '/' ? 0 : 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    out.push_back(http::PercentDecode(path.substr(start, slash - start), false));
    start = slash + 1;
  }
  // "/api/vhosts/" is "/api/vhosts".
  if (out.size() > 1 && out.back().empty()) out.pop_back();
  return out;
}

bool Call::HasQuery(const std::string& name) const {
  for (const auto& [k, v] : query)
    if (k == name) return true;
  return false;
}

std::string Call::Query(const std::string& name) const {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return "";
}

std::string EncodeSegment(const std::string& segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : segment) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void Router::Add(const std::string& method, const std::string& pattern, Handler handler) {
  routes_.push_back({method, PathSegments(pattern), std::move(handler)});
}

void Router::AddPublic(const std::string& method, const std::string& pattern,
                       Handler handler) {
  routes_.push_back({method, PathSegments(pattern), std::move(handler), true});
}

bool Router::Public(const std::string& method, const std::string& target) const {
  std::vector<std::string> args;
  bool path_known = false;
  const Route* r = Match(method, PathSegments(target), args, path_known);
  return r && r->is_public;
}

const Router::Route* Router::Match(const std::string& method,
                                   const std::vector<std::string>& path,
                                   std::vector<std::string>& args, bool& path_known) const {
  path_known = false;
  for (const Route& r : routes_) {
    if (!Matches(r.pattern, path, args)) continue;
    path_known = true;
    if (Takes(r.method, method)) return &r;
  }
  return nullptr;
}

std::optional<Reply> Router::Find(const std::string& method, const std::string& target) const {
  std::vector<std::string> args;
  bool path_known = false;
  if (Match(method, PathSegments(target), args, path_known)) return std::nullopt;
  if (path_known) return Error(405, "method_not_allowed", method + " not allowed here");
  return ObjectNotFound();
}

Reply Router::Dispatch(const http::Request& request, NodeClient& nodes) const {
  std::vector<std::string> args;
  bool path_known = false;
  const Route* found = Match(request.method, PathSegments(request.target), args, path_known);
  if (!found) return *Find(request.method, request.target);
  std::string authorization = request.Header("Authorization");
  if (!found->is_public && authorization.rfind("Basic ", 0) != 0)
    return Unauthorized("Not_Authorized");
  Call call{request, nodes, {authorization, request.peer}, std::move(args),
            http::ParseQuery(request.target), &contexts_};
  Reply reply = Run(call, *found);
  if (rates_) reply = rates_->Decorate(call, std::move(reply));
  return Shape(call, std::move(reply));
}

Reply Router::Handle(const http::Request& request, NodeClient& nodes) const {
  std::vector<std::string> args;
  bool path_known = false;
  const Route* found = Match(request.method, PathSegments(request.target), args, path_known);
  if (!found) return *Find(request.method, request.target);
  Call call{request, nodes, {request.Header("Authorization"), request.peer}, std::move(args),
            http::ParseQuery(request.target), &contexts_};
  return Run(call, *found);
}

Reply Router::Run(Call& call, const Route& route) const {
  Reply reply = route.handler(call);
  const std::string& m = call.http.method;
  if (reply.status == 404 && (m == "GET" || m == "HEAD" || m == "DELETE"))
    return ObjectNotFound();
  return reply;
}

Router ApiRouter() {
  Router router;
  AddNodeRoutes(router);
  AddHealthRoutes(router);
  AddAccessRoutes(router);
  AddTopicPermissionRoutes(router);
  AddUserLimitRoutes(router);
  AddPolicyRoutes(router);
  AddParameterRoutes(router);
  AddQueueRoutes(router);
  AddExchangeRoutes(router);
  AddBindingRoutes(router);
  AddConnectionRoutes(router);
  AddAbsentRoutes(router);
  return router;
}

}  // namespace warren::mgmt
