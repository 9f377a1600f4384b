// This node as a member of a cluster (docs/cluster.md, "Forming a cluster"
// and "Members"): it owns the Raft group of the cluster's metadata
// (storage, state machine, driver, gate) and its links to the peers (a
// RaftSender to each member the configuration names, and a forwarding
// thread for changes a client sent here while another node leads).
//
// A node becomes a member in one of three ways:
//   - Join: from seeds. The seeds, sorted, are numbered from 1; every node
//     is given the same list (in any order), so every node numbers them alike.
//   - Found: a node alone that a join_cluster names becomes the first member
//     of a new cluster; its metadata is the group's first snapshot.
//   - Resume: a node that was a member (DATA_DIR/cluster/member) goes on
//     from its log, seeds or not; a node that join_cluster enrolled starts
//     here with an empty log, as a learner the leader brings up to date.
// The leader adds and removes members (ChangeMembers) and makes a learner a
// voter once it has caught up.
//
// Lifecycle: built by the Node after its gRPC port serves, before any
// client connects; every call on the node's loop. Destroyed after the loop
// stopped, or on the loop by reset, before the broker.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/cluster/mirror_guard.h"
#include "broker/core/command.h"
#include "common/runtime.h"
#include "common/status.h"
#include "raft/raft.h"

namespace warren::core {
class Broker;
class MetadataGate;
}  // namespace warren::core

namespace warren::cluster {

class RaftStorage;
class Secret;
struct ForwardResult;
class Forwarder;
struct MembersChange;
struct MembersResult;

// The Raft group as this member sees it (Member::Describe): for
// cluster_status.
struct MemberView {
  struct Peer {
    uint64_t id = 0;
    std::string address;  // gRPC HOST:PORT; empty when this member knows none
    std::string node;     // its name, when the configuration has it
    bool voter = false;   // else a learner
  };
  uint64_t self = 0;
  uint64_t leader = 0;  // 0: none known
  uint64_t term = 0;
  std::vector<Peer> members;  // the configuration in force, by id
};

// A member the leader has not heard from for this long is taken as down:
// its transient (non-durable or exclusive) queues are deleted, as RabbitMQ
// deletes them when their node goes down (docs/cluster.md, "A member that
// goes silent").
inline constexpr int64_t kSilentMemberMs = 5000;

struct MemberOptions {
  std::vector<std::string> seeds;  // Join: gRPC HOST:PORT of every member
  std::string node_name;           // this node's; unique in the cluster
  std::string address;             // Found: this node's gRPC HOST:PORT, as the others reach it
  // Resume (from the member file): members to reach until the first
  // configuration arrives, by id ("HOST:PORT NAME").
  std::map<uint64_t, std::string> introductions;
  std::string data_dir;            // the Raft log goes in DATA_DIR/cluster
  std::function<void(std::function<void()>)> post;  // onto the node's loop, from any thread
  std::function<void(const std::string&)> on_fatal;  // the Raft log cannot be saved
  int64_t ping_timeout_ms = 2000;
  // Join: how long the seeds are asked before none answering as this node
  // stops the start (a seed's name may resolve only a moment later).
  int64_t find_self_ms = 60000;
};

// The ids of a member's configuration in force, kept up to date by the
// member and read from any thread (what Ping tells a caller about itself).
// It may outlive the member, and then stays as it last was.
class KnownIds {
 public:
  bool Contains(uint64_t id) const;
  void Set(std::vector<uint64_t> ids);

 private:
  mutable std::mutex mu_;
  std::vector<uint64_t> ids_;
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
  // This node alone becomes member 1 of a new cluster, at options.address.
  static Result<std::unique_ptr<Member>> Found(MemberOptions options, const Secret& secret,
                                               Runtime& runtime, core::Broker& broker);
  // A node that was a member (WasMember) goes on from its log.
  static Result<std::unique_ptr<Member>> Resume(MemberOptions options, const Secret& secret,
                                                Runtime& runtime, core::Broker& broker);
  // DATA_DIR/cluster/member: the id this node has in its cluster; 0 when it
  // is in none. An unreadable file is an error.
  static Result<uint64_t> RecordedId(const std::string& data_dir);
  // The same id, and the gRPC addresses of the members the file names
  // (join_cluster's `peer` lines): whom a node enrolled but never started
  // asks to leave.
  struct Record {
    uint64_t id = 0;
    std::vector<std::string> peers;
  };
  static Result<Record> Recorded(const std::string& data_dir);
  // join_cluster's last step on the joining node: the id the cluster gave
  // it and the members then (by id, "HOST:PORT NAME"), recorded so that
  // Resume starts it as that member and reaches them.
  static Status Enrol(const std::string& data_dir, uint64_t id,
                      const std::map<uint64_t, std::string>& members);
  // reset: forgets the cluster (the Raft log and the member file).
  static Status Erase(const std::string& data_dir);
  ~Member();
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;

  // Ticks begin; the broker's metadata changes go through the cluster.
  void Start();
  // Changes sent here while another member leads go to it through
  // `forwarder` (the node's Queues streams; null: a Propose call each, from
  // a thread of the member's own). It must outlive its use, or be unset first.
  void ForwardThrough(Forwarder* forwarder);
  uint64_t id() const;
  core::MetadataGate& gate();
  // Changes this member makes of itself, each with what it is for the log:
  // proposed one at a time, in order, each again at the next tick while no
  // leader commits it (504); any other refusal is logged and the next goes.
  // The config file's access definitions (node.cc) and, at a restart, the
  // deletes of this member's lost transient queues (restart_metadata.h).
  void ProposeOwn(std::vector<std::pair<core::Command, std::string>> changes);

  // What the Cluster service receives, posted to the loop by the node: the
  // Raft messages of one read from a peer's stream, and a change a follower
  // forwarded (`reply` runs once).
  void Receive(const std::vector<std::string>& messages);
  void ProposeForPeer(std::string command, std::function<void(ForwardResult)> reply);
  // Member `node` (a node name) renews its lease as a home of mirrored
  // queues (docs/mirroring.md, "The home's lease"): granted only while this
  // member leads with a Raft lease, and counted as hearing from it now.
  // The commit index the grantee must apply through before it serves.
  std::optional<uint64_t> GrantLease(const std::string& node);
  // A change of members a peer (or this node) asked for: carried out here
  // when this node leads, else answered with the leader's address.
  void ChangeMembers(MembersChange change, std::function<void(MembersResult)> reply);

  // Read-only, on the loop: the configuration, the leader and the term.
  MemberView Describe() const;
  // Read-only, on the loop: every member's gRPC address, the leader's
  // first when known (where AskLeader starts).
  std::vector<std::string> Addresses() const;
  // Read-only, on the loop: the other members by id and gRPC address (those
  // of the member file while no configuration has come yet).
  std::map<uint64_t, std::string> Peers() const;
  // The ids of the configuration in force, kept up to date (KnownIds).
  std::shared_ptr<const KnownIds> known_ids() const;

 private:
  struct Parts;
  explicit Member(std::unique_ptr<Parts> parts);
  // The parts around `persisted` (already saved in `storage`) for member `self`.
  static Result<std::unique_ptr<Member>> Build(const MemberOptions& o, uint64_t self,
                                               raft::Persisted persisted, bool restart,
                                               const Secret& secret, Runtime& runtime,
                                               core::Broker& broker,
                                               std::unique_ptr<RaftStorage> storage);
  std::unique_ptr<Parts> parts_;
};

}  // namespace warren::cluster
