// libFuzzer target for warren-mgmt's handling of one API request: its method,
// target and body, through every route of the Router the HTTP server
// dispatches to (mgmt/router.h), with Basic credentials, and a NodeClient
// that has no node to call, so each call to "the node" succeeds with an
// empty answer and the route's handling of a reply runs too.
// Input: the first byte picks the method, the target runs to the first
// newline, the body is the rest. Properties checked (any failure aborts):
//   - nothing throws or crashes, whatever the target and the body (paths
//     and queries are percent-decoded, bodies parsed and type-checked);
//   - the reply's status is one the API uses (200..503);
//   - a JSON reply parses back as JSON, whatever bytes the input held;
//   - an error reply is RabbitMQ's {"error": ..., "reason": ...}, or a failed
//     health check's 503 {"status": "failed", "reason": ...}.
// Run with `make fuzz` (README.md); seeds in corpus-mgmt_request/.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "http/server.h"
#include "mgmt/node_client.h"
#include "mgmt/router.h"

namespace {

using namespace warren;

constexpr const char* kMethods[] = {"GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"};

void CheckReply(const mgmt::Reply& reply) {
  FUZZ_CHECK(reply.status >= 200 && reply.status <= 503);
  if (reply.content_type != "application/json" || reply.body.empty()) return;
  nlohmann::json body = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!body.is_discarded());
  if (reply.status < 400) return;
  FUZZ_CHECK(body.is_object() && body.contains("reason"));
  if (reply.status == 503 && body.contains("status")) FUZZ_CHECK(body["status"] == "failed");
  else FUZZ_CHECK(body.contains("error"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const mgmt::Router router = mgmt::ApiRouter();
  static mgmt::NodeClient nodes({}, 1.0);
  if (size == 0) return 0;
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t newline = rest.find('\n');
  http::Request request;
  request.method = kMethods[data[0] % std::size(kMethods)];
  request.target = rest.substr(0, newline);
  if (newline != std::string::npos) request.body = rest.substr(newline + 1);
  request.has_body = !request.body.empty();
  request.content_length = request.body.size();
  request.peer = "127.0.0.1";
  request.headers = {{"Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q="},
                     {"Content-Type", "application/json"}};
  CheckReply(router.Dispatch(request, nodes));
  return 0;
}
