// The broker model's root: vhosts, users and permissions, direct reply-to
// consumers, and node-wide counters. Knows nothing of frames or sockets.
//
// Lifecycle: one per node, built by the Node from NodeConfig; every call on
// the node's event loop.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "broker/core/client.h"
#include "broker/core/command.h"
#include "broker/core/durability.h"
#include "broker/core/message.h"
#include "broker/core/mirroring.h"
#include "broker/core/persistence.h"
#include "broker/core/regex.h"
#include "broker/core/remote.h"
#include "broker/core/vhost.h"
#include "common/config.h"
#include "common/runtime.h"
#include "common/status.h"

namespace warren::core {

struct User {
  std::string name;
  std::string password_hash;
  std::vector<std::string> tags;
  UserLimits limits{};
};

enum class Access { kConfigure, kWrite, kRead };

struct Permissions {
  std::string configure, write, read;
  Pattern configure_re, write_re, read_re;
};

// A topic permission (docs/access.md): the patterns as set, and compiled
// with {username} and {vhost} replaced by the user's and the vhost's names.
struct TopicPermission {
  std::string write, read;
  Pattern write_re, read_re;
};

// The user limits Warren knows (RabbitMQ's names).
inline constexpr std::string_view kMaxConnections = "max-connections";
inline constexpr std::string_view kMaxChannels = "max-channels";
// Why `limits` names one Warren does not know, or "".
std::string UserLimitsProblem(const UserLimits& limits);

// A channel consuming from amq.rabbitmq.reply-to.
class DirectReplySink {
 public:
  virtual ~DirectReplySink() = default;
  virtual void DeliverReply(const MessagePtr& message) = 0;
};

struct BrokerCounters : MessageCounters {
  uint64_t connections_opened = 0;
  uint64_t connections_closed = 0;
  uint64_t channels_opened = 0;
  uint64_t channels_closed = 0;
  uint64_t queues_declared = 0;  // queue.declare (not passive) and the API's declares
  uint64_t queues_created = 0;   // queues made with this node as their home
  uint64_t queues_deleted = 0;   // queues homed here that went, for whatever reason
  uint64_t publishers = 0;       // channels open that have published (a gauge)
  MessageSizes message_sizes;
};

// Resource alarms, as RabbitMQ raises them (memory high watermark, disk
// free limit). While any is on, publishing connections are blocked.
enum class Alarm : uint8_t { kMemory = 1, kDisk = 2 };

class AlarmListener {
 public:
  virtual ~AlarmListener() = default;
  // Some alarm went on (`on`) or the last one cleared.
  virtual void OnAlarmChanged(bool on) = 0;
};

inline constexpr std::string_view kReplyToQueue = "amq.rabbitmq.reply-to";
// The cluster member a direct reply-to key was given out by
// (amq.rabbitmq.reply-to.MEMBER.TOKEN.N); 0 when the key names none.
uint64_t ReplyToMember(std::string_view key);

class Broker {
 public:
  Broker(Runtime& runtime, const NodeConfig& config);
  ~Broker();

  Runtime& runtime() { return runtime_; }
  const NodeConfig& config() const { return config_; }

  // Where metadata changes go (core/command.h): applied at once unless a
  // cluster set its own gate, which must outlive the broker's use of it.
  MetadataGate& metadata() { return *gate_; }
  void set_metadata_gate(MetadataGate* gate) { gate_ = gate ? gate : &local_gate_; }

  VHost* FindVHost(const std::string& name);
  // Creates the vhost with `metadata`; when it exists, replaces its
  // metadata with `update`, else leaves it as it is.
  Status AddVHost(const std::string& name, const VHostMetadata& metadata = {},
                  bool update = false);
  Status DeleteVHost(const std::string& name);
  const std::map<std::string, std::unique_ptr<VHost>>& vhosts() const { return vhosts_; }

  Status AddUser(const std::string& name, const std::string& password_hash,
                 std::vector<std::string> tags);
  Status DeleteUser(const std::string& name);
  // 404 when the user does not exist.
  Status ChangePasswordHash(const std::string& name, const std::string& password_hash);
  Status SetUserTags(const std::string& name, std::vector<std::string> tags);
  const User* FindUser(const std::string& name) const;
  const std::map<std::string, User>& users() const { return users_; }
  // The user when name and password match; nullptr otherwise.
  const User* Authenticate(const std::string& name, const std::string& password) const;
  bool IsLoopbackOnly(const std::string& user) const;

  // 406 when a pattern is not a valid regular expression.
  Status SetPermissions(const std::string& user, const std::string& vhost,
                        const std::string& configure, const std::string& write,
                        const std::string& read);
  void ClearPermissions(const std::string& user, const std::string& vhost);
  // user -> vhost -> permissions
  const std::map<std::string, std::map<std::string, Permissions>>& permissions() const {
    return permissions_;
  }
  // Moves whenever any permission changes, so callers that remember an
  // answer of Allowed() know when to ask again.
  uint64_t permissions_epoch() const { return permissions_epoch_; }
  bool CanAccessVHost(const std::string& user, const std::string& vhost) const;
  // RabbitMQ semantics: the pattern is searched (not anchored) in the
  // resource name; the default exchange is named "amq.default"; an empty
  // pattern grants nothing.
  bool Allowed(const std::string& user, const std::string& vhost, Access access,
               const std::string& resource) const;

  // Topic permissions (docs/access.md): 404 without the user or vhost, 406
  // for a pattern that is not a regular expression. Clearing takes the one
  // of `exchange`, or with `all` every one of the user's in the vhost.
  Status SetTopicPermission(const TopicPermissionDef& permission);
  void ClearTopicPermissions(const std::string& user, const std::string& vhost,
                             const std::string& exchange, bool all);
  // user -> vhost -> exchange -> permission
  using TopicPermissions =
      std::map<std::string, std::map<std::string, std::map<std::string, TopicPermission>>>;
  const TopicPermissions& topic_permissions() const { return topic_permissions_; }
  // Whether `routing_key` may be published with (kWrite) or bound with
  // (kRead) on the topic exchange `exchange`: true when the user has no
  // topic permission for it (RabbitMQ's rule); an empty pattern allows only
  // the empty key. Callers ask only for exchanges of type topic.
  bool TopicAllowed(const std::string& user, const std::string& vhost,
                    const std::string& exchange, Access access,
                    const std::string& routing_key) const;

  // User limits: 404 without the user, 406 for a name Warren does not know.
  // Setting merges into the user's limits; clearing takes one, or all.
  Status SetUserLimits(const std::string& user, const UserLimits& limits);
  Status ClearUserLimits(const std::string& user, const std::string& name, bool all);
  // The user's limit of that name when it has one (negative: none).
  std::optional<int64_t> UserLimit(const std::string& user, std::string_view name) const;
  // This node's connections in `vhost`, and `user`'s connections and
  // channels on any vhost.
  ConnectionCensus LocalCensus(const std::string& vhost, const std::string& user) const;
  // The same summed over the cluster, as RabbitMQ counts connection and
  // channel limits (docs/access.md, "Limits in a cluster"): every other
  // member is asked (QueueRemote::Census), and this node's own are counted
  // when the last has answered, so a connection this node admitted while
  // waiting counts. A member that cannot be reached, or has not answered
  // within kCensusTimeoutMs, counts nothing, and that is logged. `done` runs
  // on the loop once; at once when this node is alone.
  static constexpr int64_t kCensusTimeoutMs = 2000;
  void ClusterCensus(const std::string& vhost, const std::string& user,
                     std::function<void(ConnectionCensus)> done);

  // Runtime parameters (core/parameters.h; docs/parameters.md). The value
  // is validated (406) and stored; with `only_if_absent` an existing one is
  // kept. A vhost parameter needs its vhost (404); vhost-limits take effect
  // at once. Clearing one that is not set is 404.
  Status SetParameter(const ParameterDef& parameter, bool only_if_absent);
  Status ClearParameter(const ParameterKey& key);
  const std::map<ParameterKey, std::string>& parameters() const { return parameters_; }
  // The cluster's name (the global parameter cluster_name, else this node's
  // name) and its permanent id ("" until set); docs/parameters.md.
  std::string ClusterName() const;
  std::string ClusterId() const;
  // The value (JSON), or nullptr when it is not set.
  const std::string* FindParameter(const ParameterKey& key) const {
    auto it = parameters_.find(key);
    return it == parameters_.end() ? nullptr : &it->second;
  }

  // Direct reply-to: a channel consuming from amq.rabbitmq.reply-to gets a
  // unique routing key "amq.rabbitmq.reply-to.<token>".
  std::string RegisterReplyTo(DirectReplySink* sink);
  void UnregisterReplyTo(const std::string& key);
  DirectReplySink* FindReplyTo(const std::string& key) const;

  // This node's member id in its cluster (0: alone), the home of the queues
  // it declares for its clients; and what reaches queues homed on other
  // members (null: none are, or they cannot be reached from here).
  uint64_t self_member() const { return self_member_; }
  // The member that homes `queue`: its record's, or this one.
  uint64_t HomeOf(const Queue& queue) const {
    return queue.remote() ? queue.home() : self_member_;
  }
  void set_self_member(uint64_t id) { self_member_ = id; }
  QueueRemote* remote() const { return remote_; }
  // This member's copies of queues it mirrors, for a promotion (null: none).
  void set_mirror_source(MirrorSource* source) { mirror_source_ = source; }
  MirrorSource* mirror_source() const { return mirror_source_; }
  // What the store kept for durable queues homed on other members: this
  // member's mirror copies of them (docs/mirroring.md, "Copies on disk"), in
  // log order, by (vhost, queue), until cluster/mirror_copies.h takes them.
  using RestoredCopies = std::map<std::pair<std::string, std::string>, std::vector<DiskRef>>;
  RestoredCopies& restored_copies() { return restored_copies_; }
  // The feeds of mirrored queues homed here, for sync_queue (null: none).
  void set_mirror_sync(MirrorSync* sync) { mirror_sync_ = sync; }
  MirrorSync* mirror_sync() const { return mirror_sync_; }
  void set_remote(QueueRemote* remote) { remote_ = remote; }
  // The member a new queue is homed on, by its locator (VHost::QueueLocator):
  // client-local (this node), min-masters / balanced (the member homing the
  // fewest queues, the lowest id among equals), random. 0 for a node alone.
  uint64_t PlaceQueue(const std::string& locator) const;

  uint64_t NextConnectionId() { return ++last_connection_id_; }
  // A cluster member numbers its connections from `base` (its member id in
  // the top 16 bits), so a connection id, which names an exclusive queue's
  // owner in the replicated metadata, is the same connection on every node.
  void set_connection_id_base(uint64_t base) {
    if (last_connection_id_ < base) last_connection_id_ = base;
  }
  // Open client connections, by id (core/client.h). A connection registers
  // once it is open on a vhost and unregisters when it closes.
  void RegisterClient(uint64_t id, ClientConnection* c) { clients_[id] = c; }
  void UnregisterClient(uint64_t id) { clients_.erase(id); }
  const std::map<uint64_t, ClientConnection*>& clients() const { return clients_; }
  // Force-closes every client connection on `vhost` (all when empty) or, with
  // `user` set, those of that user.
  void CloseClients(const std::string& vhost, const std::string& user, const std::string& reason);
  BrokerCounters& counters() { return counters_; }

  // Durable storage (null: memory only). While restoring, definitions()
  // is null so replayed definitions are not written again.
  void set_persistence(Persistence* store) {
    durability_.Forget();
    persistence_ = store;
  }
  Persistence* persistence() const { return persistence_; }
  // What confirms, commits and homes' answers wait on (core/durability.h).
  Durability& durability() { return durability_; }
  Persistence* definitions() const { return restoring_ ? nullptr : persistence_; }
  void set_restoring(bool restoring) { restoring_ = restoring; }

  // Memory. Paging starts when the last sampled RSS plus the message bytes
  // queued since exceeds page_above (0: never page).
  void set_page_above(uint64_t bytes) { page_above_ = bytes; }
  void SampleMemory(uint64_t rss) {
    rss_sample_ = rss;
    resident_at_sample_ = resident_bytes_;
  }
  bool ShouldPage() const {
    return page_above_ != 0 &&
           static_cast<int64_t>(rss_sample_) + (resident_bytes_ - resident_at_sample_) >
               static_cast<int64_t>(page_above_);
  }
  void ResidentBytesChanged(int64_t delta) { resident_bytes_ += delta; }
  int64_t resident_bytes() const { return resident_bytes_; }

  void SetAlarm(Alarm alarm, bool on);
  bool alarmed() const { return alarms_ != 0; }
  bool alarm_on(Alarm alarm) const { return alarms_ & static_cast<uint8_t>(alarm); }
  void AddAlarmListener(AlarmListener* l) { alarm_listeners_.insert(l); }
  void RemoveAlarmListener(AlarmListener* l) { alarm_listeners_.erase(l); }

 private:
  // Writes the user as it now is (hash, tags and limits).
  void StoreUser(const User& user);

  Runtime& runtime_;
  NodeConfig config_;
  LocalGate local_gate_{*this};
  MetadataGate* gate_ = &local_gate_;
  std::map<std::string, std::unique_ptr<VHost>> vhosts_;
  std::map<std::string, User> users_;
  std::map<ParameterKey, std::string> parameters_;
  // user -> vhost -> permissions
  std::map<std::string, std::map<std::string, Permissions>> permissions_;
  TopicPermissions topic_permissions_;
  std::unordered_map<std::string, DirectReplySink*> reply_to_;
  uint64_t reply_to_counter_ = 0;
  uint64_t last_connection_id_ = 0;
  uint64_t self_member_ = 0;
  QueueRemote* remote_ = nullptr;
  MirrorSource* mirror_source_ = nullptr;
  RestoredCopies restored_copies_;
  MirrorSync* mirror_sync_ = nullptr;
  uint64_t permissions_epoch_ = 0;
  std::map<uint64_t, ClientConnection*> clients_;
  BrokerCounters counters_;
  Persistence* persistence_ = nullptr;
  Durability durability_{persistence_};
  bool restoring_ = false;
  uint64_t page_above_ = 0;
  uint64_t rss_sample_ = 0;
  int64_t resident_bytes_ = 0;
  int64_t resident_at_sample_ = 0;
  uint8_t alarms_ = 0;
  std::unordered_set<AlarmListener*> alarm_listeners_;
};

}  // namespace warren::core
