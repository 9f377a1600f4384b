#include "ctl/client.h"

#include <chrono>
#include <cstdio>
#include <regex>

#include "common/basic_auth.h"
#include "common/config.h"
#include "common/grpc_tls.h"
#include "ctl/error.h"

namespace warren::ctl {
namespace {

// rabbitmqctl exits 67 for an unknown user and 65 for other missing things
// (vhost, queue, policy, connection); the server's message says which one
// it was ("User \"bob\" does not exist" vs "vhost 'x' does not exist").
int NotFoundExitCode(const std::string& message) {
  static const std::regex kUser("\\buser\\b", std::regex::icase);
  static const std::regex kOther("\\b(vhost|virtual host|queue|exchange|policy|connection)\\b",
                                 std::regex::icase);
  bool user = std::regex_search(message, kUser) && !std::regex_search(message, kOther);
  return user ? kExitNoUser : kExitDataErr;
}

// The node is reached directly: an http_proxy meant for web traffic would
// otherwise turn "node down" into a proxy's HTTP error.
std::shared_ptr<grpc::Channel> DirectChannel(const Options& options) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  try {
    credentials = tls::GrpcChannelCredentials(options.tls);
  } catch (const ConfigError& e) {
    throw CtlError(kExitConfig, e.what());
  }
  return grpc::CreateCustomChannel(options.node, credentials, args);
}

}  // namespace

AdminClient::AdminClient(const Options& options)
    : options_(options),
      authorization_(BasicAuthHeader(options.username, options.password)),
      stub_(v1::Admin::NewStub(DirectChannel(options))) {}

void AdminClient::Prepare(grpc::ClientContext& context) const {
  context.AddMetadata("authorization", authorization_);
  auto timeout = std::chrono::duration<double>(options_.timeout_seconds);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
}

void AdminClient::Fail(const grpc::Status& status) const {
  const std::string& message = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      // The node answered: its cluster did not commit the change in time.
      if (message.rfind("metadata change not committed", 0) == 0)
        throw CtlError(kExitTempFail, message);
      throw CtlError(kExitUnavailable,
                     "unable to perform an operation on node " + options_.node +
                         ": node unreachable (" + message + ")");
    case grpc::StatusCode::DEADLINE_EXCEEDED: {
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%g", options_.timeout_seconds);
      throw CtlError(kExitTempFail, "node " + options_.node +
                                        " unreachable: no answer within " + seconds + " s");
    }
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      throw CtlError(kExitNoPerm, message);
    case grpc::StatusCode::NOT_FOUND:
      throw CtlError(NotFoundExitCode(message), message);
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
      throw CtlError(kExitDataErr, message);
    case grpc::StatusCode::UNIMPLEMENTED:
      throw CtlError(kExitSoftware, "node " + options_.node + " does not implement this command");
    default:
      throw CtlError(kExitSoftware, message.empty() ? "the node failed the call" : message);
  }
}

}  // namespace warren::ctl
