#include "broker/resources.h"

#include <malloc.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>

#include "broker/core/broker.h"
#include "common/memory_limit.h"
#include "common/log.h"

namespace warren {

uint64_t ResidentMemory() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

namespace {

std::string MiB(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

ResourceMonitor::ResourceMonitor(core::Broker& broker, Runtime& runtime, const NodeConfig& config,
                                 StoreCheck store_check)
    : broker_(broker), runtime_(runtime), data_dir_(config.data_dir),
      memory_limit_(config.memory_limit != 0
                        ? config.memory_limit
                        : static_cast<uint64_t>(config.memory_high_watermark *
                                                static_cast<double>(AvailableMemory()))),
      disk_free_limit_(config.disk_free_limit), store_check_(std::move(store_check)) {
  // A paging ratio above 1 turns paging off, as in RabbitMQ.
  if (config.paging_ratio <= 1.0)
    broker_.set_page_above(
        static_cast<uint64_t>(config.paging_ratio * static_cast<double>(memory_limit_)));
  spdlog::info("memory high watermark {} (paging above {:.0f}%), disk free limit {}",
               MiB(memory_limit_), config.paging_ratio * 100, MiB(disk_free_limit_));
}

ResourceMonitor::~ResourceMonitor() { runtime_.Cancel(timer_); }

void ResourceMonitor::Start() { Tick(); }

void ResourceMonitor::Tick() {
  uint64_t rss = ResidentMemory();
  int64_t now = runtime_.NowMs();
  // Freed message bodies go back to the system before they count against us.
  if ((rss > memory_limit_ || broker_.ShouldPage()) && now - last_trim_ms_ >= 1000) {
    malloc_trim(0);
    last_trim_ms_ = now;
    rss = ResidentMemory();
  }
  broker_.SampleMemory(rss);
  bool memory_alarm = rss > memory_limit_;
  if (memory_alarm != broker_.alarm_on(core::Alarm::kMemory)) {
    if (memory_alarm)
      spdlog::warn("memory alarm set: resident memory {} is above the high watermark {}; "
                   "publishers are blocked", MiB(rss), MiB(memory_limit_));
    else spdlog::info("memory alarm cleared: resident memory {}", MiB(rss));
    broker_.SetAlarm(core::Alarm::kMemory, memory_alarm);
  }
  CheckDisk();
  timer_ = runtime_.ScheduleAfter(kIntervalMs, [this] { Tick(); });
}

void ResourceMonitor::CheckDisk() {
  std::string store_why;
  bool store_blocked = store_check_ && store_check_(store_why);
  struct statvfs fs {};
  bool known = statvfs(data_dir_.c_str(), &fs) == 0;
  uint64_t free = known ? static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize : 0;
  bool low = known && free < disk_free_limit_;
  if (!known && !store_blocked && !broker_.alarm_on(core::Alarm::kDisk)) return;
  bool disk_alarm = low || store_blocked;
  if (disk_alarm == broker_.alarm_on(core::Alarm::kDisk)) return;
  if (store_blocked)
    spdlog::warn("disk alarm set: the store cannot write ({}); publishers are blocked",
                 store_why);
  else if (disk_alarm)
    spdlog::warn("disk alarm set: {} free on {} is below the limit {}; publishers are "
                 "blocked", MiB(free), data_dir_, MiB(disk_free_limit_));
  else spdlog::info("disk alarm cleared: {} free on {}", MiB(free), data_dir_);
  broker_.SetAlarm(core::Alarm::kDisk, disk_alarm);
}

}  // namespace warren
