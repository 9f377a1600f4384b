// The node's durable storage: the definitions log and the message log under
// one data directory (locked against a second node), behind the model's
// Persistence interface.
//
//   <data_dir>/.lock              flock'ed while the node runs
//   <data_dir>/definitions.log    definitions.h
//   <data_dir>/messages/*.seg     message_log.h
//
// Lifecycle: the Node opens it, restores the Broker from it (restore.h),
// hands it to the Broker, and closes it before the Broker is destroyed (so
// shutting down never reads as deleting queues). Event loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/core/persistence.h"
#include "broker/store/definitions.h"
#include "broker/store/message_log.h"
#include "common/status.h"

namespace warren::store {

struct StoreOptions {
  FileSystem* fs = &FileSystem::Default();
  std::string data_dir;
  bool fsync = true;
  uint64_t segment_size = 16 << 20;
  std::function<void(std::function<void()>)> post;  // onto the node's loop
  std::function<void(const std::string&)> on_fatal;
};

class Store : public core::Persistence {
 public:
  explicit Store(StoreOptions options);
  ~Store() override;

  // Locks the directory and replays the definitions. `fresh`: first start.
  Status Open(bool& fresh);
  const Definitions& definitions_model() const { return definitions_.model(); }
  MessageLog& log() { return *log_; }
  void Close();

  // core::Persistence
  void PutVHost(const std::string& name) override { definitions_.PutVHost(name); }
  void DeleteVHost(const std::string& name) override { definitions_.DeleteVHost(name); }
  void PutUser(const core::UserDef& user) override { definitions_.PutUser(user); }
  void DeleteUser(const std::string& name) override { definitions_.DeleteUser(name); }
  void PutPermissions(const core::PermissionDef& p) override { definitions_.PutPermissions(p); }
  void DeletePermissions(const std::string& user, const std::string& vhost) override {
    definitions_.DeletePermissions(user, vhost);
  }
  void PutExchange(const core::ExchangeDef& e) override { definitions_.PutExchange(e); }
  void DeleteExchange(const std::string& vhost, const std::string& name) override {
    definitions_.DeleteExchange(vhost, name);
  }
  uint64_t NewQueueId() override { return definitions_.NewQueueId(); }
  void PutQueue(const core::QueueDef& q) override { definitions_.PutQueue(q); }
  void DeleteQueue(const std::string& vhost, const std::string& name) override {
    definitions_.DeleteQueue(vhost, name);
  }
  void PutBinding(const core::BindingDef& b) override { definitions_.PutBinding(b); }
  void DeleteBinding(const core::BindingDef& b) override { definitions_.DeleteBinding(b); }
  void PutPolicy(const core::PolicyDef& p) override { definitions_.PutPolicy(p); }
  void DeletePolicy(const std::string& vhost, const std::string& name) override {
    definitions_.DeletePolicy(vhost, name);
  }

  core::DiskRef Write(const core::Message& message, const std::vector<uint64_t>& queue_ids) override;
  void AddRef(const core::DiskRef& ref) override;
  void Delivered(uint64_t queue_id, const core::DiskRef& ref) override;
  void Settle(uint64_t queue_id, const core::DiskRef& ref) override;
  void Release(const core::DiskRef& ref) override;
  core::MessagePtr Read(const core::DiskRef& ref) override;
  void WriteBuffered() override;
  uint64_t appended() const override;
  uint64_t synced() const override;
  void WaitForSync(core::SyncWaiter* waiter) override;
  void CancelWait(core::SyncWaiter* waiter) override;

 private:
  void OnSynced();

  StoreOptions options_;
  int lock_fd_ = -1;
  bool closed_ = false;
  DefinitionsLog definitions_;
  std::unique_ptr<MessageLog> log_;
  std::vector<core::SyncWaiter*> waiters_;
  std::vector<core::SyncWaiter*> notifying_;
};

}  // namespace warren::store
