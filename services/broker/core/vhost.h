// A virtual host: its exchanges, queues and bindings, and the publish path
// that routes a message to queues. The typed commands here are what the AMQP
// channel, and later the Admin service, call; they check the model's rules
// (existence, exclusivity, equivalence) and answer with RabbitMQ's reply codes
// and texts. Permission checks are the caller's (it knows the user).
//
// Lifecycle: owned by the Broker; all calls on the broker's event loop.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "amqp/field_table.h"
#include "broker/core/durability.h"
#include "broker/core/exchange.h"
#include "broker/core/parameters.h"
#include "broker/core/policy.h"
#include "broker/core/queue.h"
#include "common/runtime.h"
#include "common/status.h"

namespace warren::core {

class Broker;

struct ExchangeDeclare {
  std::string name;
  std::string type;
  bool passive = false;
  ExchangeOptions options;
};

struct QueueDeclare {
  std::string name;  // empty: server-named amq.gen-...
  // `name` came from NewQueueName(): the amq. prefix is the server's own.
  bool server_named = false;
  bool passive = false;
  bool durable = false;
  bool exclusive = false;
  bool auto_delete = false;
  amqp::FieldTable arguments;
  uint64_t home = 0;  // the member holding its messages; 0: this node
};

// queue.delete's if-unused and if-empty for a queue with `consumers`
// consumers and `messages` ready: 406 with RabbitMQ's text when one fails.
// (In a cluster the asking node checks them with the home's counts before
// it proposes the delete: docs/cluster.md, "Queues across nodes".)
Status CheckDeleteConditions(const std::string& vhost, const std::string& queue, bool if_unused,
                             bool if_empty, uint64_t consumers, uint64_t messages);

struct QueueDeclared {
  std::string name;
  uint32_t message_count = 0;
  uint32_t consumer_count = 0;
};

// Queues a message was routed to that are homed on member `home`
// (core/remote.h): the caller forwards it there.
struct RemoteRoute {
  uint64_t home = 0;
  std::vector<std::string> queues;
};

struct PublishOutcome {
  size_t routed = 0;      // queues that took the message, here or (remote) elsewhere
  bool rejected = false;  // some queue refused it (x-overflow reject-publish)
  std::vector<RemoteRoute> remote;
};

class VHost : public QueueHost {
 public:
  VHost(Broker& broker, Runtime& runtime, std::string name);
  ~VHost() override;

  const std::string& name() const { return name_; }
  // What it says of itself, and its limits (docs/parameters.md): set by
  // Broker::AddVHost and the vhost-limits parameter.
  const VHostMetadata& metadata() const { return metadata_; }
  void set_metadata(VHostMetadata metadata) { metadata_ = std::move(metadata); }
  const VHostLimits& limits() const { return limits_; }
  void set_limits(VHostLimits limits) { limits_ = limits; }
  // Client connections open on it, on this node.
  uint64_t connection_count() const { return connections_; }
  void ConnectionOpened() { ++connections_; }
  void ConnectionClosed() {
    if (connections_ > 0) --connections_;
  }

  Status DeclareExchange(const ExchangeDeclare& d);
  Status DeleteExchange(const std::string& name, bool if_unused);
  Exchange* FindExchange(const std::string& name);
  // 404 unless the exchange exists.
  Result<Exchange*> GetExchange(const std::string& name);

  Result<QueueDeclared> DeclareQueue(const QueueDeclare& d, uint64_t connection);
  // x-queue-master-locator, else the queue-master-locator of the policy
  // that would apply to queue `name`, else "client-local".
  // A committed change of a queue's mirrors (cmd::SetMirrors). Refused
  // (406) unless the queue is homed on `home` and `mirrors.epoch` is above
  // its own: a change decided from an older record is stale. `new_home`
  // (0: none) moves the queue there (MoveHome).
  Status SetMirrors(const std::string& queue, uint64_t home, Mirrors mirrors,
                    uint64_t new_home = 0);
  std::string QueueLocator(const std::string& name, const amqp::FieldTable& arguments) const;
  // A fresh server-named queue name ("amq.gen-" and 22 random characters),
  // for a caller that must know the name before it declares (a command).
  std::string NewQueueName();
  // Re-creates a durable queue the store kept (at start only).
  Result<Queue*> RestoreQueue(const QueueDef& def);
  // Returns the number of ready messages the queue had.
  Result<uint32_t> DeleteQueue(const std::string& name, bool if_unused, bool if_empty,
                               uint64_t connection);
  Result<uint32_t> PurgeQueue(const std::string& name, uint64_t connection);
  std::shared_ptr<Queue> FindQueue(const std::string& name);
  // 404 when missing, 405 when exclusive to another connection.
  Result<std::shared_ptr<Queue>> GetQueue(const std::string& name, uint64_t connection);

  Status BindQueue(const std::string& queue, const std::string& exchange,
                   const std::string& routing_key, const amqp::FieldTable& args,
                   uint64_t connection);
  Status UnbindQueue(const std::string& queue, const std::string& exchange,
                     const std::string& routing_key, const amqp::FieldTable& args,
                     uint64_t connection);
  Status BindExchange(const std::string& destination, const std::string& source,
                      const std::string& routing_key, const amqp::FieldTable& args);
  Status UnbindExchange(const std::string& destination, const std::string& source,
                        const std::string& routing_key, const amqp::FieldTable& args);

  // Policies (policy.h). SetPolicy validates (406), replaces the policy of
  // the same name, stores it, and applies the policies to every queue and
  // exchange at once; so does ClearPolicy (404 when there is none). New
  // queues and exchanges take the policy in effect when declared.
  Status SetPolicy(Policy policy) { return PutPolicy(std::move(policy), false); }
  Status ClearPolicy(const std::string& name) { return DropPolicy(name, false); }
  const std::map<std::string, Policy>& policies() const { return policies_; }
  // Operator policies (docs/parameters.md): as policies, validated by
  // ValidateOperatorPolicy; the one matching a queue merges with its policy.
  Status SetOperatorPolicy(Policy policy) { return PutPolicy(std::move(policy), true); }
  Status ClearOperatorPolicy(const std::string& name) { return DropPolicy(name, true); }
  const std::map<std::string, Policy>& operator_policies() const { return operator_policies_; }
  const Policy* OperatorPolicyOf(const Queue& queue) const {
    auto it = operator_policies_.find(queue.operator_policy_name());
    return it == operator_policies_.end() ? nullptr : &it->second;
  }
  // The policy in effect for `queue`, as it was applied to it (null: none):
  // no pattern is matched again.
  const Policy* PolicyOf(const Queue& queue) const {
    auto it = policies_.find(queue.policy_name());
    return it == policies_.end() ? nullptr : &it->second;
  }

  // Routes `message` from `exchange` (nullptr: the default exchange) and
  // enqueues it on every queue it reaches. `ticket` (when something waits
  // on the message: core/durability.h) is given what the message needs to
  // be held: its store position, and a refusal when a queue refused it.
  PublishOutcome Publish(Exchange* exchange, const MessagePtr& message,
                         const Ticket& ticket = {});
  // Enqueues a message another member routed to queues homed here, by
  // name; a queue that is gone (or not homed here) is skipped.
  PublishOutcome PublishTo(const std::vector<std::string>& queues, const MessagePtr& message,
                           const Ticket& ticket = {});
  // The exclusive queues of a closing connection go with it.
  void DeleteExclusiveQueues(uint64_t connection);

  const std::unordered_map<std::string, std::unique_ptr<Exchange>>& exchanges() const {
    return exchanges_;
  }
  const std::unordered_map<std::string, std::shared_ptr<Queue>>& queues() const { return queues_; }

  // QueueHost
  void PublishDeadLetter(Queue& from, const std::string& exchange, MessagePtr message) override;
  void DeleteUnusedQueue(Queue& queue) override;
  Persistence* persistence() override;
  bool ShouldPage() override;
  void ResidentBytesChanged(int64_t delta) override;

 private:
  void DeclareBuiltins();
  // Writes `queue`'s record to the store when it has one there (durable,
  // not exclusive): its home and mirrors with it.
  void StoreRecord(const Queue& queue);
  // The queue's home moves to `new_home` (docs/mirroring.md, "Failover"):
  // its object is replaced, keeping name, bindings and arguments. Moving
  // here, it is filled from this member's copy (Broker::mirror_source), each
  // message marked redelivered; moving away, what it held here is dropped
  // and its consumers are cancelled.
  void MoveHome(const std::shared_ptr<Queue>& old, uint64_t new_home, Mirrors mirrors);
  // Policies and operator policies alike; operator_policy picks the map,
  // the validation and the store's record.
  Status PutPolicy(Policy policy, bool operator_policy);
  Status DropPolicy(const std::string& name, bool operator_policy);
  // The vhost's default queue type, into a new queue's arguments.
  void AddDefaultQueueType(const QueueDeclare& d, amqp::FieldTable& arguments) const;
  void ApplyPolicies();
  // Applies the policy and operator policy matching `queue` to it.
  void ApplyPolicyTo(Queue& queue);
  void Route(Exchange* exchange, const Message& message, std::vector<Queue*>& out);
  PublishOutcome EnqueueAll(const std::vector<std::shared_ptr<Queue>>& queues,
                            const MessagePtr& message, const Ticket& ticket);
  void RouteInto(Exchange& exchange, const Message& message, std::vector<Queue*>& out);
  void Collect(Exchange& exchange, const Message& message, std::vector<Queue*>& out,
               int depth);
  Result<Exchange*> ResolveQueueBinding(const std::string& queue, const std::string& exchange,
                                        uint64_t connection);
  Result<Exchange*> ResolveExchangeBinding(const std::string& destination,
                                           const std::string& source);
  Status AddBinding(Exchange& source, BindingSpec binding);
  void RemoveBinding(Exchange& source, const BindingSpec& binding);
  void EraseQueue(const std::string& name);
  // Deletes an unused auto-delete, expired or exclusive queue through the
  // metadata gate, so every cluster member forgets it.
  void DeleteEverywhere(const Queue& queue);
  void RemoveBindingsTo(const Destination& destination);
  void MaybeAutoDeleteExchange(Exchange& exchange);
  // The store for definition changes; nullptr while the node restores them.
  Persistence* definitions();
  bool IsDurable(const Destination& d);
  BindingDef ToDef(const Exchange& source, const BindingSpec& b) const;

  Broker& broker_;
  Runtime& runtime_;
  std::string name_;
  std::unordered_map<std::string, std::unique_ptr<Exchange>> exchanges_;
  std::unordered_map<std::string, std::shared_ptr<Queue>> queues_;
  std::map<std::string, Policy> policies_;  // by name
  std::map<std::string, Policy> operator_policies_;
  VHostMetadata metadata_;
  VHostLimits limits_;
  uint64_t connections_ = 0;
  uint64_t route_epoch_ = 0;
  std::vector<const Destination*> scratch_;
  // Expires with the vhost, so deferred work scheduled on the runtime can
  // tell it is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace warren::core
