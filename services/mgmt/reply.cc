#include "mgmt/reply.h"

namespace warren::mgmt {

Reply Json(const nlohmann::json& body, int status) {
  Reply r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Reply NoContent() {
  Reply r;
  r.status = 204;
  return r;
}

Reply Created(std::string location) {
  Reply r;
  r.status = 201;
  if (!location.empty()) r.headers.emplace_back("Location", std::move(location));
  return r;
}

Reply Error(int status, const std::string& error, const std::string& reason) {
  return Json({{"error", error}, {"reason", reason}}, status);
}

Reply BadRequest(const std::string& reason) { return Error(400, "bad_request", reason); }
Reply NotFound(const std::string& reason) { return Error(404, "not_found", reason); }

Reply Unauthorized(const std::string& reason) {
  Reply r = Error(401, "not_authorized", reason);
  r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"RabbitMQ Management\"");
  return r;
}

Reply NotAuthorised(const std::string& reason) { return Error(401, "not_authorised", reason); }

Reply FromGrpc(const grpc::Status& s) {
  const std::string& text = s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::UNAUTHENTICATED: return Unauthorized(text);
    case grpc::StatusCode::PERMISSION_DENIED: return NotAuthorised(text);
    case grpc::StatusCode::NOT_FOUND: return NotFound(text);
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ALREADY_EXISTS: return BadRequest(text);
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Error(503, "service_unavailable", "no node reachable: " + text);
    default: return Error(500, "internal_error", text.empty() ? "the node failed" : text);
  }
}

}  // namespace warren::mgmt
