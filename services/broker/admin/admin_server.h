// The gRPC Admin service (proto/warren/v1/admin.proto) on the node's gRPC
// port: what warrenctl, warren-mgmt and warren-exporter call.
//
// Lifecycle: built by the Node after the broker model exists; Start() binds
// (throws ConfigError when it cannot) and serves from gRPC's own threads.
// Every call authenticates on the gRPC thread, then runs its work on the
// node's event loop (posted through AdminContext::post) and waits for it, so
// the model is never touched from another thread. Shutdown() must be called
// from a thread other than the loop's, while the loop still runs; it waits
// for calls in flight.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace grpc {
class Server;
class Service;
class ServerCredentials;
}

namespace warren::core {
class Broker;
}

namespace warren::admin {

// What Status reports about the node beyond the model (filled on the loop).
struct NodeStatus {
  std::string node_name;
  std::string data_dir;
  uint64_t uptime_ms = 0;
  uint64_t memory_bytes = 0;
  uint64_t memory_limit = 0;
  uint64_t disk_free = 0;
  uint64_t disk_free_limit = 0;
  struct Listener {
    std::string protocol, host;
    uint16_t port;
    int64_t certificate_not_after = 0;  // s since the epoch; 0: no TLS
    std::string certificate_file{}, ca_file{};
  };
  std::vector<Listener> listeners;
  uint64_t fds_used = 0;
  uint64_t fds_limit = 0;
  uint64_t sockets_used = 0;  // client sockets: AMQP connections, handshakes included
  uint64_t sockets_limit = 0;
  bool fd_alarm = false;      // accepting failed for want of descriptors
};

// One member of the cluster, for ClusterStatus.
struct ClusterMember {
  uint64_t id = 0;
  std::string address;    // gRPC HOST:PORT
  std::string node_name;  // empty when not known
  bool voter = false;
  bool running = false;
};

// What ClusterStatus reports about the cluster: `cluster` fills it on the
// loop (running: this node only), then `probe` off the loop (the others).
struct ClusterView {
  uint64_t self = 0;
  uint64_t leader = 0;  // 0: none known
  uint64_t term = 0;
  std::vector<ClusterMember> members;  // by id
};

// The gRPC metadata warren-mgmt sends with every call: the address of the
// HTTP client it speaks for, so loopback-only users (guest) stay on loopback.
inline constexpr char kClientAddressKey[] = "x-warren-client-address";

struct AdminContext {
  core::Broker* broker = nullptr;
  // Runs fn on the node's event loop.
  std::function<void(std::function<void()>)> post;
  // True once the loop no longer runs posted work (the node is stopping).
  std::function<bool()> loop_stopped;
  std::function<NodeStatus()> status;  // called on the loop
  std::function<ClusterView()> cluster;  // called on the loop
  // Called on a gRPC thread, never the loop: marks which of the other
  // members answer now and fills the names it knows. It blocks (2 s at most:
  // cluster/peer_probe.h).
  std::function<void(ClusterView&)> probe;
  // The membership commands (Node's; docs/cluster.md, "Members"): called on
  // a gRPC thread once the caller is admitted, blocking. An Error's code:
  // 400 a bad name, 403 another secret, 404 not a member, 409 the
  // application's state, 503 no leader reached.
  std::function<Status()> stop_app, start_app, reset;
  std::function<Result<bool>(const std::string& node)> join_cluster;  // true: already a member
  std::function<Status(const std::string& node, bool offline)> forget_cluster_node;
  // Any thread: false after stop_app (most calls are then refused).
  std::function<bool()> app_running;
};

class AdminService;

class AdminServer {
 public:
  explicit AdminServer(AdminContext context);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds host:port (port 0: any free port) and starts serving, `others`
  // (the Cluster service) on the same port; returns the bound port.
  // `credentials`: TLS (docs/tls.md); null is plaintext.
  uint16_t Start(const std::string& host, uint16_t port,
                 const std::vector<grpc::Service*>& others = {},
                 std::shared_ptr<grpc::ServerCredentials> credentials = nullptr);
  void Shutdown();

 private:
  AdminContext context_;
  std::unique_ptr<AdminService> service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace warren::admin
