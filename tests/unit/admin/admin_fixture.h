// Harness for the Admin service's component tests: a real Node (AMQP and
// gRPC on 127.0.0.1:0, a fresh data directory) on its own thread, a gRPC
// stub to its Admin service, and calls made with or without credentials.
// Restart() stops the node and starts it again on the same data directory.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "broker/node.h"
#include "common/basic_auth.h"
#include "warren/v1/admin.grpc.pb.h"

namespace warren::admin_test {

namespace v1 = ::warren::v1;

class AdminNode {
 public:
  AdminNode() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "warren-admin-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    Start();
  }
  ~AdminNode() {
    Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  AdminNode(const AdminNode&) = delete;
  AdminNode& operator=(const AdminNode&) = delete;

  void Restart() {
    Stop();
    Start();
  }
  uint16_t amqp_port() const { return amqp_port_; }
  std::string grpc_address() const { return "127.0.0.1:" + std::to_string(node_->grpc_port()); }
  const std::filesystem::path& data_dir() const { return dir_; }
  v1::Admin::Stub& stub() { return *stub_; }

  // A context carrying `user`:`password` (none when user is empty) and,
  // when set, the HTTP client address warren-mgmt would forward.
  static std::unique_ptr<grpc::ClientContext> As(const std::string& user,
                                                 const std::string& password,
                                                 const std::string& client_address = "") {
    auto c = std::make_unique<grpc::ClientContext>();
    if (!user.empty()) c->AddMetadata("authorization", BasicAuthHeader(user, password));
    if (!client_address.empty()) c->AddMetadata("x-warren-client-address", client_address);
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return c;
  }
  static std::unique_ptr<grpc::ClientContext> Guest() { return As("guest", "guest"); }

 private:
  void Start() {
    NodeConfig config;
    config.node_name = "warren@admin-test";
    config.amqp_listen = "127.0.0.1:0";
    config.grpc_listen = "127.0.0.1:0";
    config.data_dir = dir_.string();
    node_ = std::make_unique<Node>(config);
    node_->Start();
    amqp_port_ = node_->amqp_port();
    stub_ = v1::Admin::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(node_->grpc_port()), grpc::InsecureChannelCredentials()));
    thread_ = std::thread([n = node_.get()] { n->Run(); });
  }
  void Stop() {
    if (!thread_.joinable()) return;
    node_->Stop();
    thread_.join();
    stub_.reset();
    node_.reset();
  }

  std::filesystem::path dir_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<v1::Admin::Stub> stub_;
  std::thread thread_;
  uint16_t amqp_port_ = 0;
};

// `depth` JSON objects nested: {"a":{"a":...{}}}.
inline std::string NestedObjects(int depth) {
  std::string out;
  for (int i = 1; i < depth; ++i) out += "{\"a\":";
  out += "{}";
  out += std::string(static_cast<size_t>(depth - 1), '}');
  return out;
}

}  // namespace warren::admin_test
