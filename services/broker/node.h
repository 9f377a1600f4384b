// The composition root of warren-node: builds the event loop, runtime,
// broker model (vhosts, users, permissions from NodeConfig) and the AMQP
// listener. main() and in-process tests build the same Node.
//
// Lifecycle: Start() reads the cluster secret (making its file when absent),
// opens the store in data_dir and restores what it kept,
// then serves gRPC (Admin and Cluster), joins the cluster when it has seeds
// or goes on as the member it was (cluster/member.h), and binds AMQP last (throws ConfigError on a bad
// address, an unusable data directory or a cluster it cannot join); Run() blocks on the loop until
// Stop() has closed every connection. Stop() is called from a thread other
// than the loop's: it stops the Admin service (which waits for calls that
// run on the loop), then posts the rest to the loop. The store is closed
// before the broker model is torn down. If the store cannot make data
// durable (a failed fdatasync), the process exits at once with
// kExitStoreFailed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace asio {
class io_context;
}
namespace grpc {
class Service;
}

namespace warren {

namespace admin {
class AdminServer;
struct ClusterView;
struct NodeStatus;
}
namespace cluster {
class KnownIds;
class Member;
class QueueHome;
class RemoteQueues;
class QueueReplicator;
struct MemberOptions;
struct MembersChange;
struct MembersResult;
class PeerProbe;
class Secret;
}
namespace core {
class Broker;
}
namespace net {
class AsioRuntime;
class Listener;
}  // namespace net
namespace store {
class Store;
}
class ResourceMonitor;

class Node {
 public:
  explicit Node(NodeConfig config);
  ~Node();

  void Start();
  void Run();
  void Stop();

  uint16_t amqp_port() const;
  uint16_t amqps_port() const;
  // SIGHUP: reads [tls]'s files again; AMQPS connections accepted from now
  // on use them, established ones keep theirs. A file that cannot be used
  // is logged and the certificates in use stay. Any thread.
  void ReloadTls();
  // The tutorial's membership commands (docs/cluster.md, "Members"), called
  // by the Admin service on a gRPC thread, never the loop; each blocks until
  // done. An Error is the refusal: 400 a bad name, 403 another secret, 404
  // not a member, 409 the application's state (running or stopped), 503 no
  // leader reached.
  Status StopApp();
  Status StartApp();
  Status Reset();
  // join_cluster: true when this node already was a member of that cluster.
  Result<bool> JoinClusterOf(const std::string& node);
  Status ForgetClusterNode(const std::string& node, bool offline);
  uint16_t grpc_port() const { return grpc_port_; }
  core::Broker& broker() { return *broker_; }
  const NodeConfig& config() const { return config_; }

 private:
  // The cluster secret from its file, made when absent (cluster/secret.h).
  void LoadClusterSecret();
  void OpenStore();
  // Users, vhosts and permissions from the config; the default user and
  // vhost only on the first start (`fresh`), as RabbitMQ does.
  void LoadAccess(bool fresh);
  // load_definitions: the file is read once, at start (a bad one stops the
  // start); a node alone applies it then, a member proposes it through the
  // cluster's log with its access changes (Adopt).
  void ReadDefinitions();
  void ApplyDefinitions();
  void StartAdmin();
  // With cluster_seeds: joins the cluster (cluster/member.h); its Raft group
  // carries every metadata change from then on. Without, a node that was a
  // member goes on as one.
  void JoinCluster();
  cluster::MemberOptions MemberOptionsFor() const;
  // Runs a function on the node's loop, from any thread (what the store,
  // the member, the Admin service and the queue links are given).
  std::function<void(std::function<void()>)> LoopPost() const;
  // On the loop: AMQP listens again (start) or stops and closes every
  // connection (stop).
  Status ListenAmqp();
  // Binds one AMQP listener (`key`: amqp_listen or amqps_listen).
  Status Listen(const std::string& key, const std::string& address, uint16_t& bound_port,
                std::unique_ptr<net::Listener>& out, bool tls);
  // On the loop: what a reset leaves: no cluster, no definitions nor
  // messages, the default user and vhost (as at a first start).
  Status WipeLocal();
  // gRPC HOST:PORT the other members reach this node at: the gRPC listen
  // host, or this machine's name when it listens on every address.
  std::string AdvertisedAddress() const;
  // Runs fn on the loop and waits for it (from a gRPC thread).
  Status OnLoop(const std::function<Status()>& fn);
  // On the loop: `member` becomes this node's member and starts.
  void Adopt(std::unique_ptr<cluster::Member> member);
  // On the loop: the member goes, and what serves queues across nodes with it.
  void DropMember();
  // Blocking (never on the loop): the peers that answer agree that member
  // `self` is no longer in their cluster (some say so, none says otherwise).
  bool Forgotten(uint64_t self, const std::map<uint64_t, std::string>& peers) const;
  Error ForgottenError(uint64_t self) const;
  // Cluster.ChangeMembers from a peer, on the loop: a node alone that a
  // join_cluster names founds a cluster first.
  void ChangeMembers(cluster::MembersChange change,
                     std::function<void(cluster::MembersResult)> reply);
  admin::NodeStatus Describe() const;
  // On the loop: the cluster's members from the Raft configuration (a node
  // alone: itself); only this node is marked running (ProbePeers, off the
  // loop, marks the others).
  admin::ClusterView DescribeCluster() const;
  void ProbePeers(admin::ClusterView& view);

  NodeConfig config_;
  // The load_definitions file's changes, each with the item it names.
  struct Definitions;
  std::unique_ptr<Definitions> definitions_;
  std::unique_ptr<asio::io_context> io_;
  std::unique_ptr<net::AsioRuntime> runtime_;
  std::unique_ptr<cluster::Secret> secret_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<core::Broker> broker_;
  std::unique_ptr<ResourceMonitor> resources_;
  std::unique_ptr<net::Listener> listener_;      // AMQP; null with amqp_listen = none
  std::unique_ptr<net::Listener> tls_listener_;  // AMQPS; null without amqps_listen
  // Listeners stop_app closed, kept until the node goes: their sessions may
  // still be closing.
  std::vector<std::unique_ptr<net::Listener>> closed_listeners_;
  uint16_t amqp_bound_port_ = 0;  // the AMQP port of the first start (for amqp_listen port 0)
  uint16_t amqps_bound_port_ = 0;
  std::atomic<bool> app_running_{false};  // AMQP serves (after start, until stop_app)
  std::atomic<uint64_t> member_id_{0};     // member_'s id, for Ping
  // member_'s configuration, for Ping on gRPC threads.
  mutable std::mutex known_mu_;
  std::shared_ptr<const cluster::KnownIds> known_ids_;
  std::unique_ptr<grpc::Service> cluster_service_;  // served by admin_'s server
  std::unique_ptr<cluster::Member> member_;         // with cluster_seeds
  // Queues across nodes while a member: this node as the home of its
  // queues, and the links to the other homes (the broker's QueueRemote).
  std::unique_ptr<cluster::QueueHome> queue_home_;
  std::unique_ptr<cluster::RemoteQueues> remote_queues_;
  std::unique_ptr<cluster::QueueReplicator> replicator_;  // mirrored queues homed here
  std::unique_ptr<cluster::PeerProbe> probe_;       // used off the loop (cluster_status)
  std::unique_ptr<admin::AdminServer> admin_;
  uint16_t grpc_port_ = 0;
  int64_t grpc_certificate_not_after_ = 0;  // 0: gRPC without TLS
  int64_t started_ms_ = 0;  // steady clock
};

// The exit status of a node that stopped because the store could not make
// data durable (a failed fdatasync or write; store/README.md): EX_IOERR.
inline constexpr int kExitStoreFailed = 74;

// Fills defaults that depend on the machine (node name, data directory).
void ResolveDefaults(NodeConfig& config);
// Raises the open-file limit to the hard limit; returns the new soft limit.
uint64_t RaiseFileLimit();

}  // namespace warren
