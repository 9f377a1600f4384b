// AdminClient: one gRPC channel to a node's Admin service (admin.proto).
// Every call carries "authorization: Basic base64(user:password)" and a
// deadline of --timeout seconds. A failed call throws CtlError with the
// exit status that matches the gRPC code and the server's message.
// Lives for one warrenctl run, on the main thread.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "ctl/options.h"
#include "warren/v1/admin.grpc.pb.h"

namespace warren::ctl {

namespace v1 = ::warren::v1;

// One unary RPC of the Admin service, e.g. &v1::Admin::Stub::AddUser.
template <typename Request, typename Response>
using Method = grpc::Status (v1::Admin::Stub::*)(grpc::ClientContext*, const Request&, Response*);

class AdminClient {
 public:
  explicit AdminClient(const Options& options);

  template <typename Request, typename Response>
  Response Call(Method<Request, Response> method, const Request& request) {
    grpc::ClientContext context;
    Prepare(context);
    Response response;
    grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (!status.ok()) Fail(status);
    return response;
  }

  const std::string& node() const { return options_.node; }

 private:
  void Prepare(grpc::ClientContext& context) const;
  [[noreturn]] void Fail(const grpc::Status& status) const;

  Options options_;
  std::string authorization_;
  std::unique_ptr<v1::Admin::Stub> stub_;
};

}  // namespace warren::ctl
