// What a route answers: status, body, headers; and RabbitMQ's error bodies,
// {"error":"not_found","reason":"..."}. A node's gRPC status becomes the
// HTTP status the management plugin gives for the same failure:
// UNAUTHENTICATED 401 not_authorized (with a Basic challenge: who the
// caller is is not known), PERMISSION_DENIED 401 not_authorised (a known
// user whose tags or permissions do not allow it, as the plugin answers),
// NOT_FOUND 404, INVALID_ARGUMENT and FAILED_PRECONDITION 400, every node
// unreachable 503.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <grpcpp/support/status.h>
#include <nlohmann/json.hpp>

namespace warren::mgmt {

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

Reply Json(const nlohmann::json& body, int status = 200);
Reply NoContent();                                  // 204
Reply Created(std::string location = "");           // 201, empty body
Reply Error(int status, const std::string& error, const std::string& reason);
Reply BadRequest(const std::string& reason);        // 400 bad_request
Reply NotFound(const std::string& reason = "Not Found");
Reply Unauthorized(const std::string& reason);      // 401 with WWW-Authenticate
Reply NotAuthorised(const std::string& reason);     // 401, a known user refused
Reply FromGrpc(const grpc::Status& status);

}  // namespace warren::mgmt
