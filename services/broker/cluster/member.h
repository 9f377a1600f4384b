// This node as a member of a cluster formed from seeds (docs/cluster.md,
// "Forming a cluster"): it finds itself among the seeds, owns the Raft group
// of the cluster's metadata (storage, state machine, driver, gate) and its
// links to the peers (a RaftSender each, and a forwarding thread for
// changes a client sent here while another node leads).
//
// Node ids: the seeds, sorted, numbered from 1. Every node is given the same
// list (in any order), so every node numbers them alike.
//
// Lifecycle: built by the Node after its gRPC port serves (Join pings the
// seeds, itself included, to learn which one it is), before any client
// connects; every call on the node's loop. Destroyed after the loop
// stopped, before the broker.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/runtime.h"
#include "common/status.h"

namespace warren::core {
class Broker;
class MetadataGate;
}  // namespace warren::core

namespace warren::cluster {

class Secret;
struct ForwardResult;

// The Raft group as this member sees it (Member::Describe): for
// cluster_status.
struct MemberView {
  struct Peer {
    uint64_t id = 0;
    std::string address;  // gRPC HOST:PORT; empty when this member knows none
    bool voter = false;   // else a learner
  };
  uint64_t self = 0;
  uint64_t leader = 0;  // 0: none known
  uint64_t term = 0;
  std::vector<Peer> members;  // the configuration in force, by id
};

struct MemberOptions {
  std::vector<std::string> seeds;  // gRPC HOST:PORT of every member
  std::string node_name;           // this node's; unique in the cluster
  std::string data_dir;            // the Raft log goes in DATA_DIR/cluster
  std::function<void(std::function<void()>)> post;  // onto the node's loop, from any thread
  std::function<void(const std::string&)> on_fatal;  // the Raft log cannot be saved
  int64_t ping_timeout_ms = 2000;
};

class Member {
 public:
  // Finds this node among the seeds (a seed whose Ping answers this node's
  // name) and opens its Raft log; a new log is started with every seed a
  // voter. A restarted member goes on from its log, skipping the entries its
  // store already holds. Errors: no seed is this node; the log or the member
  // file is damaged; the seeds number this node otherwise than at its first
  // start.
  static Result<std::unique_ptr<Member>> Join(MemberOptions options, const Secret& secret,
                                              Runtime& runtime, core::Broker& broker);
  ~Member();
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;

  // Ticks begin; the broker's metadata changes go through the cluster.
  void Start();
  uint64_t id() const;
  core::MetadataGate& gate();

  // What the Cluster service receives, posted to the loop by the node: a
  // Raft message from a peer, and a change a follower forwarded (`reply`
  // runs once).
  void Receive(std::string message);
  void ProposeForPeer(std::string command, std::function<void(ForwardResult)> reply);

  // Read-only, on the loop: the configuration, the leader and the term.
  MemberView Describe() const;

 private:
  struct Parts;
  explicit Member(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace warren::cluster
