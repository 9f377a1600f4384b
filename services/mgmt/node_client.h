// NodeClient: gRPC channels to the nodes of --nodes, in order. A call goes to
// the node that answered last; when that node is unreachable (UNAVAILABLE,
// DEADLINE_EXCEEDED) the next one is tried, until every node has been.
// Each call carries the HTTP request's own "authorization" header, so the
// node decides what the caller may do; warren-mgmt keeps no broker state.
// Thread-safe: the HTTP server's worker threads share one NodeClient.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "warren/v1/admin.grpc.pb.h"

namespace warren::mgmt {

namespace v1 = ::warren::v1;

template <typename Request, typename Response>
using Method = grpc::Status (v1::Admin::Stub::*)(grpc::ClientContext*, const Request&, Response*);

class NodeClient {
 public:
  NodeClient(const std::vector<std::string>& nodes, double timeout_seconds);

  template <typename Request, typename Response>
  grpc::Status Call(const std::string& authorization, Method<Request, Response> method,
                    const Request& request, Response& response) {
    grpc::Status status;
    size_t first = preferred_.load();
    for (size_t i = 0; i < stubs_.size(); ++i) {
      size_t n = (first + i) % stubs_.size();
      grpc::ClientContext context;
      context.AddMetadata("authorization", authorization);
      context.set_deadline(std::chrono::system_clock::now() + timeout_);
      status = (stubs_[n].get()->*method)(&context, request, &response);
      if (!Unreachable(status)) {
        preferred_.store(n);
        return status;
      }
      Skipped(n, status);
    }
    return status;
  }

  static bool Unreachable(const grpc::Status& s) {
    return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
           s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  }

 private:
  void Skipped(size_t node, const grpc::Status& status) const;

  std::vector<std::string> names_;
  std::vector<std::unique_ptr<v1::Admin::Stub>> stubs_;
  std::chrono::milliseconds timeout_;
  std::atomic<size_t> preferred_{0};
};

}  // namespace warren::mgmt
