// What the model asks of durable storage (docs/durability.md):
// definitions that must survive a restart, and persistent messages in durable
// queues. core/ calls this interface; store/ implements it on disk. A Broker
// without one (unit tests) keeps everything in memory.
//
// All calls come from the node's event loop. Writes are buffered and written
// before the loop next writes to a socket; `appended()` / `synced()` are byte
// positions in the message log, so a publisher confirm waits until synced()
// has passed the position of the message it confirms.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "amqp/field_table.h"
#include "broker/core/message.h"
#include "broker/core/parameters.h"
#include "broker/core/policy.h"

namespace warren::core {

// A user's limits by name (max-connections, max-channels); a negative value
// is no limit (docs/access.md).
using UserLimits = std::map<std::string, int64_t>;

struct UserDef {
  std::string name;
  std::string password_hash;
  std::vector<std::string> tags;
  UserLimits limits{};
};

struct PermissionDef {
  std::string user, vhost, configure, write, read;
};

// Patterns on the routing keys of one topic exchange, as set.
struct TopicPermissionDef {
  std::string user, vhost, exchange, write, read;
};

struct ExchangeDef {
  std::string vhost, name, type;
  bool auto_delete = false;
  bool internal = false;
  amqp::FieldTable arguments;
};

// A mirrored queue's copies (core/mirroring.h): other members holding a
// copy, and which of them hold all the home holds. Changed only by committed
// metadata (cmd::SetMirrors); the epoch goes up with every change.
struct Mirrors {
  std::vector<uint64_t> members;  // sorted member ids, the home not among them
  std::vector<uint64_t> in_sync;  // sorted, a subset of members
  uint64_t epoch = 0;
  bool operator==(const Mirrors&) const = default;
};

struct QueueDef {
  std::string vhost, name;
  uint64_t id = 0;  // the store's queue id, never reused
  bool auto_delete = false;
  amqp::FieldTable arguments;
  uint64_t home = 0;  // the member holding its messages; 0: this node
  Mirrors mirrors{};
};

struct BindingDef {
  std::string vhost, source;
  bool to_queue = true;
  std::string destination, routing_key;
  amqp::FieldTable arguments;
  bool operator==(const BindingDef&) const = default;
};

// What rebuilds a Policy (ValidatePolicy compiles the pattern again).
struct PolicyDef {
  std::string vhost, name, pattern;
  ApplyTo apply_to = ApplyTo::kAll;
  int32_t priority = 0;
  amqp::FieldTable definition;
  bool operator_policy = false;  // an operator policy (docs/parameters.md)
};

// A runtime parameter (core/parameters.h); global: component and vhost "".
struct ParameterDef {
  std::string component, vhost, name;
  std::string value;  // JSON
};

// Told when the log has been made durable further (group commit).
class SyncWaiter {
 public:
  virtual ~SyncWaiter() = default;
  virtual void OnSynced() = 0;
};

class Persistence {
 public:
  virtual ~Persistence() = default;

  // Definitions. Callers store only what is durable (RabbitMQ's rules).
  // DeleteVHost also forgets the vhost's exchanges, queues, bindings,
  // permissions, topic permissions and policies; DeleteUser the user's
  // permissions and topic permissions.
  // Creates the vhost or replaces its metadata.
  virtual void PutVHost(const std::string& name, const VHostMetadata& metadata) = 0;
  virtual void DeleteVHost(const std::string& name) = 0;
  virtual void PutUser(const UserDef& user) = 0;
  virtual void DeleteUser(const std::string& name) = 0;
  virtual void PutPermissions(const PermissionDef& permissions) = 0;
  virtual void DeletePermissions(const std::string& user, const std::string& vhost) = 0;
  // Replaces the user's topic permission on the same exchange.
  virtual void PutTopicPermission(const TopicPermissionDef& permission) = 0;
  virtual void DeleteTopicPermission(const std::string& user, const std::string& vhost,
                                     const std::string& exchange) = 0;
  virtual void PutExchange(const ExchangeDef& exchange) = 0;
  // Also forgets the bindings from and to the exchange.
  virtual void DeleteExchange(const std::string& vhost, const std::string& name) = 0;
  virtual uint64_t NewQueueId() = 0;
  virtual void PutQueue(const QueueDef& queue) = 0;
  // Also forgets the bindings to the queue and its messages.
  virtual void DeleteQueue(const std::string& vhost, const std::string& name) = 0;
  virtual void PutBinding(const BindingDef& binding) = 0;
  virtual void DeleteBinding(const BindingDef& binding) = 0;
  // Replaces the vhost's policy (operator policy) of the same name.
  virtual void PutPolicy(const PolicyDef& policy) = 0;
  virtual void DeletePolicy(const std::string& vhost, const std::string& name,
                            bool operator_policy) = 0;
  // Replaces the parameter of the same key.
  virtual void PutParameter(const ParameterDef& parameter) = 0;
  virtual void DeleteParameter(const ParameterKey& key) = 0;
  // A cluster member applied its metadata log through `index`: recorded
  // after, and in order with, the definitions that entry changed, so a
  // restart knows which entries its definitions already hold
  // (docs/cluster.md, "A member's restart"). 0 when never recorded.
  virtual void PutMetadataApplied(uint64_t /*index*/) {}
  virtual uint64_t metadata_applied() const { return 0; }

  // Messages. A record is referenced once per durable queue it was written
  // for (or once, for a page-out copy written with no queue); every
  // reference is dropped by exactly one Settle or Release.
  virtual DiskRef Write(const Message& message, const std::vector<uint64_t>& queue_ids) = 0;
  // One more reference to a record (another queue pages the same message).
  virtual void AddRef(const DiskRef& ref) = 0;
  // A consumer got the message from queue `queue_id` and may not ack it.
  virtual void Delivered(uint64_t queue_id, const DiskRef& ref) = 0;
  // The message left queue `queue_id` for good (ack, drop, dead-letter):
  // logged, so it does not come back at restart; drops the reference.
  virtual void Settle(uint64_t queue_id, const DiskRef& ref) = 0;
  // Drops a reference without logging (page-out copies, deleted queues).
  virtual void Release(const DiskRef& ref) = 0;
  // Reads a message back; nullptr when the record cannot be read.
  virtual MessagePtr Read(const DiskRef& ref) = 0;
  // Messages written and read back since the store opened (RabbitMQ's
  // disk_writes and disk_reads).
  struct DiskCounts {
    uint64_t writes = 0, reads = 0;
  };
  virtual DiskCounts disk_counts() const = 0;

  // Writes what is buffered; the network layer calls it before it writes
  // to a socket, so no client sees a delivery the log has not recorded.
  virtual void WriteBuffered() = 0;
  virtual uint64_t appended() const = 0;
  virtual uint64_t synced() const = 0;
  // Calls waiter->OnSynced() once, after synced() next moves (on the loop).
  virtual void WaitForSync(SyncWaiter* waiter) = 0;
  virtual void CancelWait(SyncWaiter* waiter) = 0;
};

}  // namespace warren::core
