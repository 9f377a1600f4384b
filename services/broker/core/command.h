// Metadata changes as values (docs/cluster.md, "Metadata as commands").
//
// Every change to what a cluster shares (vhosts, users, permissions,
// policies, exchanges, bindings, queue records) is a Command. Callers (the
// AMQP channel, the Admin service) build one and hand it to the broker's
// MetadataGate; the gate applies it (a node alone applies it at once; a
// cluster proposes it, and every node applies it when the log commits it, in
// log order) and answers with the Outcome.
//
// Apply() is deterministic: the same commands applied in the same order to
// the same state give the same state and the same outcomes on every node.
// Whatever a command needs that is chosen at random or is local to one node
// (a server-named queue's name, the declaring connection) is chosen by the
// caller and carried in the command.
//
// Passive declares, purges and everything on the message path are not
// commands: they read or change one node's queues.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "amqp/field_table.h"
#include "broker/core/persistence.h"
#include "broker/core/policy.h"
#include "common/status.h"

namespace warren::core {

class Broker;

namespace cmd {

// Creates the vhost; when it exists, `update` replaces its metadata (else
// nothing changes). `grant_user`, when that user exists, gets full
// permissions on a vhost this creates (the management API's creator).
struct AddVHost {
  std::string name;
  VHostMetadata metadata{};
  bool update = false;
  std::string grant_user{};
};
struct DeleteVHost {
  std::string name;
};
// Creates the user or replaces its hash and tags.
struct AddUser {
  std::string name, password_hash;
  std::vector<std::string> tags;
};
struct DeleteUser {
  std::string name;
};
struct ChangePassword {
  std::string name, password_hash;
};
struct SetUserTags {
  std::string name;
  std::vector<std::string> tags;
};
struct SetPermissions {
  std::string user, vhost, configure, write, read;
};
struct ClearPermissions {
  std::string user, vhost;
};
struct SetTopicPermission {
  std::string user, vhost, exchange, write, read;
};
// The user's one of `exchange`, or with `all` every one in the vhost.
struct ClearTopicPermissions {
  std::string user, vhost, exchange;
  bool all = false;
};
// Sets these limits; the user's others stay.
struct SetUserLimits {
  std::string user;
  UserLimits limits;
};
// Clears the limit `name`, or with `all` every one.
struct ClearUserLimits {
  std::string user, name;
  bool all = false;
};
struct SetPolicy {
  std::string vhost, name, pattern;
  ApplyTo apply_to = ApplyTo::kAll;
  int32_t priority = 0;
  amqp::FieldTable definition;
  bool operator_policy = false;
};
struct ClearPolicy {
  std::string vhost, name;
  bool operator_policy = false;
};
// A runtime parameter (core/parameters.h): global when component and vhost
// are empty. `only_if_absent` keeps a value already set (the cluster id).
struct SetParameter {
  std::string component, vhost, name;
  std::string value;  // JSON
  bool only_if_absent = false;
};
struct ClearParameter {
  std::string component, vhost, name;
};
struct DeclareExchange {
  std::string vhost, name, type;
  bool durable = false, auto_delete = false, internal = false;
  amqp::FieldTable arguments;
};
struct DeleteExchange {
  std::string vhost, name;
  bool if_unused = false;
};
// Never passive, never server-named: the caller has chosen the name.
struct DeclareQueue {
  std::string vhost, name;
  bool durable = false, exclusive = false, auto_delete = false;
  amqp::FieldTable arguments;
  uint64_t connection = 0;  // the declaring connection (exclusive owner); 0: none
  bool server_named = false;  // `name` is VHost::NewQueueName()'s (amq.gen-...)
  // The member that holds the queue's messages (its home; core/remote.h),
  // chosen by the declaring node. 0: the node that applies it (a node alone).
  uint64_t node = 0;
};
struct DeleteQueue {
  std::string vhost, name;
  bool if_unused = false, if_empty = false;
  uint64_t connection = 0;
  // Only the queue homed on this member (0: whichever holds the name): a
  // delete for a member that lost its queue must not take one declared
  // since on another member under the same name.
  uint64_t home = 0;
};
// A mirrored queue's copies change (core/mirroring.h): applied only while
// the queue is homed on `home` and its epoch is below `mirrors.epoch`.
// `new_home` (0: none) moves the queue to that member, a mirror of it: a
// failover (docs/mirroring.md).
struct SetMirrors {
  std::string vhost, name;
  uint64_t home = 0;
  Mirrors mirrors;
  uint64_t new_home = 0;
};
// A binding from exchange `source` to a queue (to_queue) or an exchange.
struct Bind {
  std::string vhost, source, destination, routing_key;
  bool to_queue = true;
  amqp::FieldTable arguments;
  uint64_t connection = 0;  // for the queue's exclusivity check
};
struct Unbind {
  std::string vhost, source, destination, routing_key;
  bool to_queue = true;
  amqp::FieldTable arguments;
  uint64_t connection = 0;
};

}  // namespace cmd

using Command =
    std::variant<cmd::AddVHost, cmd::DeleteVHost, cmd::AddUser, cmd::DeleteUser,
                 cmd::ChangePassword, cmd::SetUserTags, cmd::SetPermissions,
                 cmd::ClearPermissions, cmd::SetPolicy, cmd::ClearPolicy, cmd::DeclareExchange,
                 cmd::DeleteExchange, cmd::DeclareQueue, cmd::DeleteQueue, cmd::Bind, cmd::Unbind,
                 cmd::SetMirrors, cmd::SetParameter, cmd::ClearParameter,
                 cmd::SetTopicPermission, cmd::ClearTopicPermissions, cmd::SetUserLimits,
                 cmd::ClearUserLimits>;

// What applying a command answered. `status` is the model's (RabbitMQ's
// reply code and text); for DeclareQueue the counts are the queue's when it
// already existed; for DeleteQueue `message_count` is what it held.
struct Outcome {
  Status status;
  uint32_t message_count = 0;
  uint32_t consumer_count = 0;
};

// Applies `command` to `broker`: checks the model's rules and, when they
// hold, changes the model (and writes what is durable to its store).
Outcome Apply(Broker& broker, const Command& command);

// In a cluster, before a DeclareQueue that names no home is proposed: its
// home (docs/cluster.md, "Queues across nodes"). An exclusive queue lives
// where its connection does; any other where its locator places it
// (Broker::PlaceQueue). Other commands are left as they are.
void PlaceNewQueue(Broker& broker, Command& command);

// Takes metadata changes for a broker. Done is called exactly once, on the
// node's loop: possibly before Submit returns (a node alone), or later, once
// the cluster has committed and applied the change, or failed to (504).
class MetadataGate {
 public:
  using Done = std::function<void(const Outcome&)>;
  virtual ~MetadataGate() = default;
  virtual void Submit(Command command, Done done) = 0;
  // `done` runs once this node has applied every change acknowledged
  // anywhere before the call (a cluster's follower catches up with its
  // leader; docs/cluster.md, "A barrier"), or once that could not be done
  // in time. A node alone: at once.
  virtual void Barrier(std::function<void()> done) { done(); }
};

// A node alone: applies each command at once.
class LocalGate final : public MetadataGate {
 public:
  explicit LocalGate(Broker& broker) : broker_(broker) {}
  void Submit(Command command, Done done) override { done(Apply(broker_, command)); }

 private:
  Broker& broker_;
};

}  // namespace warren::core
