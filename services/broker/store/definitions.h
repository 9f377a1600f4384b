// The durable definitions (vhosts, users, permissions, exchanges, queues,
// bindings, policies, operator policies, runtime parameters) as an append-only log of put/delete records, replayed
// at start and rewritten compactly then (with a fresh salt, record.h). Each
// change is written with one write(2) when it happens (so it survives
// kill -9) and is fsynced with the message log's next group commit.
//
// Nothing is dropped silently: a record that does not decode, or damage with
// intact records after it, makes Open() fail with one line saying where and
// what to do (skipping a delete could bring back a deleted user or grant).
// Only a damaged tail (the last write, cut short) is dropped, after a copy of
// it is kept under <data_dir>/damaged. A definition that could not be read
// back (limits.h) is never written. A write the disk refuses for lack of
// space stays pending (pending(), Flush()); any other write error is fatal.
//
// Lifecycle: owned by the Store; used on the node's event loop only. The
// message log's sync thread fdatasyncs fd() but never closes it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "broker/core/persistence.h"
#include "broker/store/file_system.h"
#include "broker/store/record.h"
#include "common/status.h"

namespace warren::store {

// What the log describes, kept up to date as records are applied.
struct Definitions {
  std::map<std::string, core::VHostMetadata> vhosts;
  std::map<std::string, core::UserDef> users;
  std::map<std::pair<std::string, std::string>, core::PermissionDef> permissions;  // user, vhost
  // user, vhost, exchange
  std::map<std::tuple<std::string, std::string, std::string>, core::TopicPermissionDef>
      topic_permissions;
  std::map<std::pair<std::string, std::string>, core::ExchangeDef> exchanges;      // vhost, name
  std::map<std::pair<std::string, std::string>, core::QueueDef> queues;            // vhost, name
  std::map<std::string, core::BindingDef> bindings;  // keyed by their encoding
  std::map<std::pair<std::string, std::string>, core::PolicyDef> policies;        // vhost, name
  std::map<std::pair<std::string, std::string>, core::PolicyDef> operator_policies;
  std::map<core::ParameterKey, core::ParameterDef> parameters;
  uint64_t next_queue_id = 1;
  uint64_t metadata_applied = 0;  // a cluster member's (core/persistence.h)
  bool empty() const { return vhosts.empty() && users.empty(); }
  std::set<std::string> vhost_names() const {
    std::set<std::string> out;
    for (const auto& [name, metadata] : vhosts) out.insert(name);
    return out;
  }
};

class DefinitionsLog {
 public:
  explicit DefinitionsLog(FileSystem& fs = FileSystem::Default()) : fs_(fs) {}
  ~DefinitionsLog();
  DefinitionsLog(const DefinitionsLog&) = delete;
  DefinitionsLog& operator=(const DefinitionsLog&) = delete;

  // Replays `dir`/definitions.log, then rewrites it with only what is live.
  // `fresh` is set when there was no log: the node's first start. Copies of
  // a damaged tail go to `damaged_dir`.
  Status Open(const std::string& dir, const std::string& damaged_dir, bool& fresh);
  const Definitions& model() const { return model_; }
  int fd() const { return fd_; }
  // Bumped after each write(2) to fd() that wrote something (the sync
  // thread reads it: MessageLogOptions::extra_writes).
  const std::atomic<uint64_t>& writes() const { return writes_; }
  std::string path() const { return dir_ + "/definitions.log"; }
  // Told once when a write fails for another reason than a full disk.
  void set_on_fatal(std::function<void(const std::string&)> fn) { on_fatal_ = std::move(fn); }

  // Records the disk refused (no space) are kept in order and written by
  // Flush(), which says whether none are left.
  bool pending() const { return !pending_.empty(); }
  bool Flush();
  const std::string& blocked_reason() const { return blocked_reason_; }
  bool failed() const { return failed_; }

  void PutVHost(const std::string& name, const core::VHostMetadata& metadata = {});
  void DeleteVHost(const std::string& name);
  void PutUser(const core::UserDef& user);
  void DeleteUser(const std::string& name);
  void PutPermissions(const core::PermissionDef& p);
  void DeletePermissions(const std::string& user, const std::string& vhost);
  void PutTopicPermission(const core::TopicPermissionDef& p);
  void DeleteTopicPermission(const std::string& user, const std::string& vhost,
                             const std::string& exchange);
  void PutExchange(const core::ExchangeDef& e);
  void DeleteExchange(const std::string& vhost, const std::string& name);
  uint64_t NewQueueId();
  void PutQueue(const core::QueueDef& q);
  void DeleteQueue(const std::string& vhost, const std::string& name);
  void PutBinding(const core::BindingDef& b);
  void DeleteBinding(const core::BindingDef& b);
  void PutPolicy(const core::PolicyDef& p);
  void DeletePolicy(const std::string& vhost, const std::string& name,
                    bool operator_policy = false);
  void PutParameter(const core::ParameterDef& p);
  void DeleteParameter(const core::ParameterKey& key);
  void PutMetadataApplied(uint64_t index);

 private:
  // Applies and appends one record.
  void Record(uint8_t type, const std::string& payload);
  // Whether `s` allows writing `what`; logs why not.
  bool Writable(const Status& s, const std::string& what);
  Status Replay(const std::string& damaged_dir, bool& fresh);
  Status Compact();

  FileSystem& fs_;
  std::string dir_;
  int fd_ = -1;
  std::atomic<uint64_t> writes_{0};
  Framing framing_;
  Definitions model_;
  std::string pending_;
  std::string blocked_reason_;
  bool failed_ = false;
  std::function<void(const std::string&)> on_fatal_;
};

}  // namespace warren::store
