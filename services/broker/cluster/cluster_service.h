// The Cluster gRPC service (proto/warren/v1/cluster.proto) a node serves on
// its gRPC port beside Admin, and the client a node calls its peers with.
// Both sides prove the cluster secret as cluster.proto describes; a peer
// with another secret is refused and the refusal logged on both sides.
//
// The service runs on gRPC's callback API: its handlers never block (the
// handshake needs no broker state). PeerClient calls are blocking: make them
// from a thread other than the node's event loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <grpcpp/support/status.h>

namespace grpc {
class Service;
}

namespace warren::cluster {

class Secret;

inline constexpr char kPingMethod[] = "/warren.v1.Cluster/Ping";

// The service of the node named `node`; `secret` must outlive it.
std::unique_ptr<grpc::Service> MakeClusterService(const Secret& secret, std::string node);

class PeerClient {
 public:
  // `address` is HOST:PORT of the peer's gRPC port; `self` this node's name;
  // `secret` is copied.
  PeerClient(const std::string& address, const Secret& secret, std::string self,
             int64_t timeout_ms = 5000);
  ~PeerClient();
  PeerClient(const PeerClient&) = delete;
  PeerClient& operator=(const PeerClient&) = delete;

  // The peer's node name. UNAUTHENTICATED when either side finds the other
  // holds another secret; UNAVAILABLE / DEADLINE_EXCEEDED when unreachable.
  grpc::Status Ping(std::string& node);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace warren::cluster
