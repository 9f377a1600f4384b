// NodeClient: gRPC channels to the nodes of --nodes, in order. A call goes to
// the node that answered last; when that node is unreachable (UNAVAILABLE,
// DEADLINE_EXCEEDED) the next one is tried, until every node has been.
// Each call carries the HTTP request's own "authorization" header, so the
// node decides what the caller may do (warren-mgmt keeps no broker state),
// and the HTTP client's address as "x-warren-client-address", so a user the
// node allows only from loopback is refused to a remote HTTP client even
// though warren-mgmt itself reaches the node over loopback.
// A request whose `string` fields (names of vhosts, users, policies, ...)
// are not UTF-8 is refused with INVALID_ARGUMENT naming the field, before
// anything is sent: protobuf would not carry it (queue and exchange names,
// routing keys and payloads are `bytes` and may hold anything).
// Thread-safe: the HTTP server's worker threads share one NodeClient.
// Shutdown() (from the signal thread) cancels the calls in flight and makes
// later ones fail at once, so workers blocked on a node are released.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include "common/tls.h"
#include "warren/v1/admin.grpc.pb.h"

namespace warren::mgmt {

namespace v1 = ::warren::v1;

template <typename Request, typename Response>
using Method = grpc::Status (v1::Admin::Stub::*)(grpc::ClientContext*, const Request&, Response*);

// Who a call is made for: the HTTP request's credentials and address.
struct Caller {
  std::string authorization;   // "Basic ..."
  std::string client_address;  // the HTTP client's IP address
};

inline constexpr char kClientAddressKey[] = "x-warren-client-address";

class NodeClient {
 public:
  // With `tls` naming any file the channels are TLS (tls::GrpcChannelCredentials);
  // throws ConfigError when a file cannot be used.
  NodeClient(const std::vector<std::string>& nodes, double timeout_seconds,
             const tls::Settings& tls = {});

  template <typename Request, typename Response>
  grpc::Status Call(const Caller& caller, Method<Request, Response> method,
                    const Request& request, Response& response) {
    if (std::string field = NotUtf8(request); !field.empty())
      return {grpc::StatusCode::INVALID_ARGUMENT, field + " is not valid UTF-8"};
    grpc::Status status;
    size_t first = preferred_.load();
    for (size_t i = 0; i < stubs_.size(); ++i) {
      size_t n = (first + i) % stubs_.size();
      grpc::ClientContext context;
      context.AddMetadata("authorization", caller.authorization);
      context.AddMetadata(kClientAddressKey, caller.client_address);
      context.set_deadline(std::chrono::system_clock::now() + timeout_);
      if (!Begin(&context)) return Stopping();
      status = (stubs_[n].get()->*method)(&context, request, &response);
      End(&context);
      if (!Unreachable(status)) {
        preferred_.store(n);
        return status;
      }
      Skipped(n, status);
    }
    return status;
  }

  // Cancels every call in flight; later calls fail with UNAVAILABLE.
  void Shutdown();

  // The first `string` field of `message` (nested ones too) that is not
  // UTF-8, by name; "" when there is none.
  static std::string NotUtf8(const google::protobuf::Message& message);

  static bool Unreachable(const grpc::Status& s) {
    return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
           s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  }

 private:
  bool Begin(grpc::ClientContext* context);  // false once shut down
  void End(grpc::ClientContext* context);
  static grpc::Status Stopping();
  void Skipped(size_t node, const grpc::Status& status) const;

  std::vector<std::string> names_;
  std::vector<std::unique_ptr<v1::Admin::Stub>> stubs_;
  std::chrono::milliseconds timeout_;
  std::atomic<size_t> preferred_{0};
  std::mutex mu_;
  bool stopped_ = false;                     // guarded by mu_
  std::set<grpc::ClientContext*> in_flight_;  // guarded by mu_
};

}  // namespace warren::mgmt
