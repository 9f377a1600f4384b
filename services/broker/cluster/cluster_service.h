// The Cluster gRPC service (proto/warren/v1/cluster.proto) a node serves on
// its gRPC port beside Admin, and the client a node calls its peers with.
// Both sides prove the cluster secret as cluster.proto describes; a peer
// with another secret is refused and the refusal logged on both sides.
//
// The service runs on gRPC's callback API: its handlers never block (the
// handshake needs no broker state). PeerClient calls are blocking: make them
// from a thread other than the node's event loop. RaftSender carries one
// node's Raft messages to a peer, whose service hands them to its RaftInbox.
// Propose carries a follower's metadata change to the leader, whose service
// hands it to its ProposeHandler.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "broker/cluster/forwarding.h"
#include "broker/cluster/membership.h"

namespace grpc {
class Service;
class ClientContext;
template <class W, class R>
class ClientReaderWriter;
}

namespace warren::v1 {
class QueueFrame;
}

namespace warren::cluster {

class Secret;

inline constexpr char kHelloMethod[] = "/warren.v1.Cluster/Hello";
inline constexpr char kPingMethod[] = "/warren.v1.Cluster/Ping";
inline constexpr char kRaftMethod[] = "/warren.v1.Cluster/Raft";
inline constexpr char kProposeMethod[] = "/warren.v1.Cluster/Propose";
inline constexpr char kMembersMethod[] = "/warren.v1.Cluster/ChangeMembers";
inline constexpr char kQueuesMethod[] = "/warren.v1.Cluster/Queues";

class HomeLink;  // queue_wire.h

// A caller's Queues stream at this node (the queues' home): called on gRPC
// threads with each frame the caller sent, and once with a null frame when
// the stream ended. Post to the node's loop; once a frame is handled there,
// HomeLink::ReadNext reads the next.
using QueuesHandler =
    std::function<void(std::shared_ptr<HomeLink> link, std::shared_ptr<v1::QueueFrame> frame)>;

// Where Raft messages from peers go: called on gRPC's threads (post to the
// node's loop from there) with each batch a peer sent, its messages in the
// order it sent them. `handled` must be called once they are, from any
// thread: the peer's next batch is read only then, so a peer that sends
// faster than the node handles is held back by its own stream.
using RaftInbox = std::function<void(const std::string& from_node,
                                     std::vector<std::string> messages,
                                     std::function<void()> handled)>;

// Runs a metadata command (encoded) a follower forwarded: called on a gRPC
// thread, it must not block. The node posts it to its loop, where
// RaftGate::ProposeForPeer runs it, and `reply` is called exactly once, from
// any thread; the call is answered then.
using ProposeHandler =
    std::function<void(std::string command, std::function<void(ForwardResult)> reply)>;

// Carries out a change of members (join_cluster, forget_cluster_node,
// reset) for a peer; as ProposeHandler: called on a gRPC thread, `reply`
// exactly once from any thread.
using MembersHandler =
    std::function<void(MembersChange change, std::function<void(MembersResult)> reply)>;

// What Ping answers besides the node's name.
struct PingState {
  bool running = false;       // the application runs (not after stop_app)
  uint64_t member = 0;        // its member id; 0: in no cluster
  bool knows_caller = false;  // the caller's member id is in its configuration
};

struct ClusterHandlers {
  RaftInbox inbox = {};
  ProposeHandler propose = {};
  MembersHandler members = {};
  // Called on gRPC threads with the caller's member id (0: none).
  std::function<PingState(uint64_t caller)> state = {};
  QueuesHandler queues = {};
};

// The service of the node named `node` (`secret` is copied). Without an
// inbox, Raft streams are refused with UNAVAILABLE; without a handler, so
// are proposals and changes of members. Without `state`, Ping says running.
std::unique_ptr<grpc::Service> MakeClusterService(const Secret& secret, std::string node,
                                                  ClusterHandlers handlers = {});

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
  // `member`: this node's member id, for the peer's knows_caller.
  grpc::Status Ping(std::string& node, PingState& state, uint64_t member = 0);
  // A change of members (membership.h): the callee's answer in `result`.
  grpc::Status ChangeMembers(const MembersChange& change, MembersResult& result);
  // Sends an encoded metadata command to the peer (the leader) and waits
  // for its answer: the leader's result, also when the change was refused
  // or not committed. A failed call (unreachable, refused, past the
  // timeout) is the gRPC status; `result` is then untouched.
  grpc::Status Propose(const std::string& command, ForwardResult& result);
  // Opens a Queues stream on `context` (the handshake first; no deadline:
  // the stream lasts). Null with the reason in `status` when it could not.
  using QueueStreamClient = grpc::ClientReaderWriter<v1::QueueFrame, v1::QueueFrame>;
  std::unique_ptr<QueueStreamClient> OpenQueues(grpc::ClientContext& context,
                                                grpc::Status& status);

 private:
  friend class RaftSender;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Streams Raft messages to one peer from a thread of its own: Send() never
// blocks. It (re)opens the stream, handshake first, whenever it is down,
// waiting 100 ms doubling to 2 s between failed attempts. At most
// kMaxQueued messages wait; beyond that, and when a stream breaks, messages
// are dropped (counted): Raft sends again what it still needs.
class RaftSender {
 public:
  static constexpr size_t kMaxQueued = 4096;

  // `learned`, when given, is called on the sender's thread with the
  // peer's node name after each handshake that verified.
  RaftSender(const std::string& address, const Secret& secret, std::string self,
             std::function<void(const std::string&)> learned = {});
  ~RaftSender();  // stops the thread; what is queued is dropped
  RaftSender(const RaftSender&) = delete;
  RaftSender& operator=(const RaftSender&) = delete;

  void Send(std::string message);
  uint64_t dropped() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace warren::cluster
