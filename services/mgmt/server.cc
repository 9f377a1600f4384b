#include "mgmt/server.h"

#include <cctype>

#include "common/basic_auth.h"
#include "common/config.h"
#include "common/log.h"
#include "common/text.h"

namespace warren::mgmt {
namespace {

std::string Trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

bool IsApi(const std::string& target) {
  return target == "/api" || target.rfind("/api/", 0) == 0 || target.rfind("/api?", 0) == 0;
}

bool IsWrite(const std::string& method) {
  return method == "PUT" || method == "POST" || method == "PATCH" || method == "DELETE";
}

http::Response ToHttp(Reply reply) {
  http::Response r;
  r.status = reply.status;
  r.headers.reserve(reply.headers.size() + 2);
  for (auto& [name, value] : reply.headers) r.headers.push_back({name, std::move(value)});
  r.headers.push_back({"Cache-Control", "no-cache"});
  r.headers.push_back({"Vary", "Origin"});
  if (!reply.body.empty()) {
    r.content_type = reply.content_type;
    r.body = std::move(reply.body);
  }
  return r;
}

}  // namespace

bool ForeignOrigin(const http::Request& head, const std::vector<std::string>& allowed) {
  if (!head.HasHeader("Origin")) return false;
  const std::string origin = AsciiLower(Trim(head.Header("Origin")));
  for (const std::string& a : allowed)
    if (origin == AsciiLower(a)) return false;
  const std::string host = AsciiLower(Trim(head.Header("Host")));
  return host.empty() || (origin != "http://" + host && origin != "https://" + host);
}

bool NeedsJsonType(const http::Request& head) {
  if (!IsWrite(head.method)) return false;
  if (!head.HasHeader("Content-Type")) return head.has_body;
  std::string type = head.Header("Content-Type");
  type = AsciiLower(Trim(type.substr(0, type.find(';'))));
  return type != "application/json";
}

Server::Server(const Options& options, const Router& router, NodeClient& nodes)
    : options_(options),
      router_(router),
      nodes_(nodes),
      files_(options.ui_dir),
      http_(*this, options.http) {}

std::vector<http::Bound> Server::Listen() {
  return http::ListenAll(http_, options_.http_listen, options_.https_listen, options_.tls);
}

// The node checks the credentials (AuthenticateUser, with the caller's own
// credentials as the call's). Only "not authenticated" refuses: a user
// whose tags do not allow the call is still who they say they are.
std::optional<Reply> Server::Authenticate(const http::Request& head) {
  const std::string authorization = head.Header("Authorization");
  v1::AuthenticateUserRequest check;
  if (!ParseBasicAuth(authorization, *check.mutable_name(), *check.mutable_password()))
    return Unauthorized("Not_Authorized");
  v1::Empty done;
  grpc::Status s = nodes_.Call(Caller{authorization, head.peer},
                               &v1::Admin::Stub::AuthenticateUser, check, done);
  if (s.ok() || s.error_code() == grpc::StatusCode::PERMISSION_DENIED) return std::nullopt;
  if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED) return Unauthorized(s.error_message());
  // A user name or password that is not UTF-8 is no user's.
  if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) return Unauthorized("Not_Authorized");
  return FromGrpc(s);
}

std::optional<http::Response> Server::Admit(const http::Request& head) {
  if (!IsApi(head.target)) {
    if (head.method != "GET" && head.method != "HEAD")
      return ToHttp(Error(405, "method_not_allowed", head.method + " not allowed here"));
    if (head.has_body) return ToHttp(BadRequest("a GET request has no body"));
    return std::nullopt;
  }
  if (auto e = router_.Find(head.method, head.target)) return ToHttp(*e);
  if (ForeignOrigin(head, options_.allowed_origins))
    return ToHttp(Error(403, "not_authorised",
                        "cross-origin request refused: Origin is not this server"));
  if (router_.Public(head.method, head.target)) return std::nullopt;
  if (auto e = Authenticate(head)) return ToHttp(*e);
  if (NeedsJsonType(head))
    return ToHttp(Error(415, "unsupported_media_type",
                        "a request body must be JSON (Content-Type: application/json)"));
  return std::nullopt;
}

http::Response Server::Serve(const http::Request& request) {
  http::Response r = IsApi(request.target) ? ToHttp(router_.Dispatch(request, nodes_))
                                           : files_.Get(request.target);
  spdlog::debug("{} {} {} -> {}", LogSafe(request.peer), LogSafe(request.method),
                LogSafe(request.target), r.status);
  return r;
}

http::Response Server::Refuse(int status, const std::string& reason) {
  static const std::pair<int, const char*> kErrors[] = {
      {400, "bad_request"}, {408, "request_timeout"}, {413, "payload_too_large"},
      {414, "uri_too_long"}, {431, "request_header_fields_too_large"},
      {500, "internal_error"}};
  const char* error = "error";
  for (const auto& [code, name] : kErrors)
    if (code == status) error = name;
  return ToHttp(Error(status, error, reason));
}

}  // namespace warren::mgmt
