// The node's durable storage: the definitions log and the message log under
// one data directory (locked against a second node), behind the model's
// Persistence interface.
//
//   <data_dir>/.lock              flock'ed while the node runs
//   <data_dir>/definitions.log    definitions.h
//   <data_dir>/messages/*.seg     message_log.h
//   <data_dir>/damaged/           copies of damaged bytes recovery skipped
//
// synced() (what confirms wait for) never passes what is durable: it stops
// while a definition is waiting for disk space (its queue's messages would
// be orphaned without it), and for good once a write or sync failed in a way
// that cannot be retried, after on_fatal was told (the node then exits, and
// its next start recovers from what is on disk). Poll() retries what a full
// disk held up and says whether publishers must stay blocked.
//
// Lifecycle: the Node opens it, restores the Broker from it (restore.h),
// hands it to the Broker, and closes it before the Broker is destroyed (so
// shutting down never reads as deleting queues). Event loop only, except
// that on_fatal may be called from the message log's sync thread.
#pragma once

#include <atomic>
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
  // Told once (from any thread) that the store stopped: a sync or write
  // failed in a way that cannot be retried. The node logs it and exits.
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
  // Retries writes a full disk held up; true while they still fail (the
  // disk alarm stays on). Called by the resource monitor's tick.
  bool Poll();
  std::string blocked_reason() const;
  std::string damaged_dir() const { return options_.data_dir + "/damaged"; }

  // core::Persistence
  void PutVHost(const std::string& name, const core::VHostMetadata& metadata) override {
    Def([&] { definitions_.PutVHost(name, metadata); });
  }
  void DeleteVHost(const std::string& name) override {
    Def([&] { definitions_.DeleteVHost(name); });
  }
  void PutUser(const core::UserDef& user) override { Def([&] { definitions_.PutUser(user); }); }
  void DeleteUser(const std::string& name) override {
    Def([&] { definitions_.DeleteUser(name); });
  }
  void PutPermissions(const core::PermissionDef& p) override {
    Def([&] { definitions_.PutPermissions(p); });
  }
  void DeletePermissions(const std::string& user, const std::string& vhost) override {
    Def([&] { definitions_.DeletePermissions(user, vhost); });
  }
  void PutTopicPermission(const core::TopicPermissionDef& p) override {
    Def([&] { definitions_.PutTopicPermission(p); });
  }
  void DeleteTopicPermission(const std::string& user, const std::string& vhost,
                             const std::string& exchange) override {
    Def([&] { definitions_.DeleteTopicPermission(user, vhost, exchange); });
  }
  void PutExchange(const core::ExchangeDef& e) override {
    Def([&] { definitions_.PutExchange(e); });
  }
  void DeleteExchange(const std::string& vhost, const std::string& name) override {
    Def([&] { definitions_.DeleteExchange(vhost, name); });
  }
  uint64_t NewQueueId() override { return definitions_.NewQueueId(); }
  void PutQueue(const core::QueueDef& q) override { Def([&] { definitions_.PutQueue(q); }); }
  void DeleteQueue(const std::string& vhost, const std::string& name) override {
    Def([&] { definitions_.DeleteQueue(vhost, name); });
  }
  void PutBinding(const core::BindingDef& b) override {
    Def([&] { definitions_.PutBinding(b); });
  }
  void DeleteBinding(const core::BindingDef& b) override {
    Def([&] { definitions_.DeleteBinding(b); });
  }
  void PutPolicy(const core::PolicyDef& p) override { Def([&] { definitions_.PutPolicy(p); }); }
  void DeletePolicy(const std::string& vhost, const std::string& name,
                    bool operator_policy) override {
    Def([&] { definitions_.DeletePolicy(vhost, name, operator_policy); });
  }
  void PutParameter(const core::ParameterDef& p) override {
    Def([&] { definitions_.PutParameter(p); });
  }
  void DeleteParameter(const core::ParameterKey& key) override {
    Def([&] { definitions_.DeleteParameter(key); });
  }
  void PutMetadataApplied(uint64_t index) override {
    Def([&] { definitions_.PutMetadataApplied(index); });
  }
  uint64_t metadata_applied() const override { return definitions_.model().metadata_applied; }

  core::DiskRef Write(const core::Message& message, const std::vector<uint64_t>& queue_ids) override;
  void AddRef(const core::DiskRef& ref) override;
  void Delivered(uint64_t queue_id, const core::DiskRef& ref) override;
  void Settle(uint64_t queue_id, const core::DiskRef& ref) override;
  void Release(const core::DiskRef& ref) override;
  core::MessagePtr Read(const core::DiskRef& ref) override;
  DiskCounts disk_counts() const override { return disk_counts_; }
  void WriteBuffered() override;
  uint64_t appended() const override;
  uint64_t synced() const override;
  void WaitForSync(core::SyncWaiter* waiter) override;
  void CancelWait(core::SyncWaiter* waiter) override;

 private:
  // Runs a definitions change; confirms stop while it waits for the disk.
  template <class Fn>
  void Def(Fn fn) {
    fn();
    HoldIfPending();
  }
  void HoldIfPending();
  void OnSynced();
  void Fatal(const std::string& why);

  StoreOptions options_;
  int lock_fd_ = -1;
  bool closed_ = false;
  DefinitionsLog definitions_;
  std::unique_ptr<MessageLog> log_;
  DiskCounts disk_counts_;
  std::vector<core::SyncWaiter*> waiters_;
  std::vector<core::SyncWaiter*> notifying_;
  // While set, synced() stays at held_at_: a definition is not on disk yet
  // (or never will be: the store failed).
  bool hold_ = false;
  uint64_t held_at_ = 0;
  std::atomic<bool> fatal_{false};
};

}  // namespace warren::store
