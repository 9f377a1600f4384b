// The durable definitions (vhosts, users, permissions, exchanges, queues,
// bindings, policies) as an append-only log of put/delete records, replayed at start
// and rewritten compactly then. Each change is written with one write(2)
// when it happens (so it survives kill -9) and is fsynced with the message
// log's next group commit.
//
// Lifecycle: owned by the Store; used on the node's event loop only. The
// sync thread reads fd() but never closes it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "broker/core/persistence.h"
#include "broker/store/file_system.h"
#include "common/status.h"

namespace warren::store {

// What the log describes, kept up to date as records are applied.
struct Definitions {
  std::set<std::string> vhosts;
  std::map<std::string, core::UserDef> users;
  std::map<std::pair<std::string, std::string>, core::PermissionDef> permissions;  // user, vhost
  std::map<std::pair<std::string, std::string>, core::ExchangeDef> exchanges;      // vhost, name
  std::map<std::pair<std::string, std::string>, core::QueueDef> queues;            // vhost, name
  std::map<std::string, core::BindingDef> bindings;  // keyed by their encoding
  std::map<std::pair<std::string, std::string>, core::PolicyDef> policies;        // vhost, name
  uint64_t next_queue_id = 1;
  bool empty() const { return vhosts.empty() && users.empty(); }
};

class DefinitionsLog {
 public:
  explicit DefinitionsLog(FileSystem& fs = FileSystem::Default()) : fs_(fs) {}
  ~DefinitionsLog();
  DefinitionsLog(const DefinitionsLog&) = delete;
  DefinitionsLog& operator=(const DefinitionsLog&) = delete;

  // Replays `dir`/definitions.log (a damaged tail is dropped and logged),
  // then rewrites it with only what is live. `fresh` is set when there was
  // no log: the node's first start.
  Status Open(const std::string& dir, bool& fresh);
  const Definitions& model() const { return model_; }
  int fd() const { return fd_; }

  void PutVHost(const std::string& name);
  void DeleteVHost(const std::string& name);
  void PutUser(const core::UserDef& user);
  void DeleteUser(const std::string& name);
  void PutPermissions(const core::PermissionDef& p);
  void DeletePermissions(const std::string& user, const std::string& vhost);
  void PutExchange(const core::ExchangeDef& e);
  void DeleteExchange(const std::string& vhost, const std::string& name);
  uint64_t NewQueueId();
  void PutQueue(const core::QueueDef& q);
  void DeleteQueue(const std::string& vhost, const std::string& name);
  void PutBinding(const core::BindingDef& b);
  void DeleteBinding(const core::BindingDef& b);
  void PutPolicy(const core::PolicyDef& p);
  void DeletePolicy(const std::string& vhost, const std::string& name);

 private:
  // Applies one record to the model; false when it does not decode.
  bool Apply(uint8_t type, std::string_view payload);
  // Applies and appends one record.
  void Record(uint8_t type, const std::string& payload);
  Status Compact();

  FileSystem& fs_;
  std::string dir_;
  int fd_ = -1;
  Definitions model_;
};

}  // namespace warren::store
