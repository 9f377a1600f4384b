// Which peers answer now, for cluster_status (docs/cluster.md,
// "cluster_status"): each address is pinged (PeerClient::Ping: the
// handshake, then Ping) on a thread of its own, all at once, each call
// bounded by a short timeout. A peer that answers is running; its node name
// is remembered, so a peer that stopped answering is still named.
//
// A fresh PeerClient (and gRPC channel) per ping: a channel kept from an
// earlier probe could still be backing off from a failure and report a peer
// that came back as unreachable.
//
// Lifecycle: built by the Node before its gRPC port serves; Probe() blocks
// (up to twice timeout_ms) and so is called from a gRPC thread, never the
// node's loop. Thread-safe. `secret` must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace warren::cluster {

class Secret;

class PeerProbe {
 public:
  struct Answer {
    bool running = false;
    std::string node_name;  // from this probe or an earlier one; empty: never reached
  };

  PeerProbe(const Secret& secret, std::string self, int64_t timeout_ms = 1000);

  // One answer per address, in the same order.
  std::vector<Answer> Probe(const std::vector<std::string>& addresses);

 private:
  const Secret& secret_;
  const std::string self_;
  const int64_t timeout_ms_;
  std::mutex mu_;
  std::map<std::string, std::string> names_;  // by address: the name it last answered
};

}  // namespace warren::cluster
