// A gRPC server for one service on 127.0.0.1 (`port` 0: one the kernel
// picks), for the cluster tests that call a node's Cluster service for real.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

namespace warren::testkit {

struct LoopbackServer {
  std::unique_ptr<grpc::Server> server;  // null when the port could not be bound
  int port = 0;
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

inline LoopbackServer ServeOnLoopback(grpc::Service& service, int port = 0) {
  LoopbackServer out;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(),
                           &out.port);
  builder.RegisterService(&service);
  out.server = builder.BuildAndStart();
  return out;
}

}  // namespace warren::testkit
