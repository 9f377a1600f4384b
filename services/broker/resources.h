// Watches the node's resources as RabbitMQ's memory and disk monitors do:
// the process's resident memory against the high watermark, and free space
// on the data directory's file system against the disk free limit. Sets the
// broker's alarms (which block publishers) and its paging threshold. The
// disk alarm is also on while the store cannot write (a full disk or quota
// that statvfs does not show; store/README.md, "When the disk fails"): each
// tick asks the store to retry, and the alarm clears once it could.
//
// Lifecycle: built and started by the Node after the store is open; samples
// on the node's loop every kIntervalMs until destroyed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/config.h"
#include "common/runtime.h"

namespace warren {

namespace core {
class Broker;
}

class ResourceMonitor {
 public:
  static constexpr int64_t kIntervalMs = 250;

  // Retries the store's held-up writes; true (and why) while they fail.
  using StoreCheck = std::function<bool(std::string& why)>;

  ResourceMonitor(core::Broker& broker, Runtime& runtime, const NodeConfig& config,
                  StoreCheck store_check = nullptr);
  ~ResourceMonitor();
  void Start();
  uint64_t memory_limit() const { return memory_limit_; }

 private:
  void Tick();
  void CheckDisk();

  core::Broker& broker_;
  Runtime& runtime_;
  std::string data_dir_;
  uint64_t memory_limit_;
  uint64_t disk_free_limit_;
  StoreCheck store_check_;
  int64_t last_trim_ms_ = 0;
  TimerId timer_ = 0;
};

// The process's resident set size in bytes (0 if unknown).
uint64_t ResidentMemory();

}  // namespace warren
