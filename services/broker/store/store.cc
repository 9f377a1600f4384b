#include "broker/store/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "broker/store/file_io.h"
#include "common/log.h"

namespace warren::store {

Store::Store(StoreOptions options)
    : options_(std::move(options)), definitions_(*options_.fs) {}

Store::~Store() {
  Close();
  if (lock_fd_ >= 0) options_.fs->Close(lock_fd_);
}

Status Store::Open(bool& fresh) {
  FileSystem& fs = *options_.fs;
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir + "/messages", ec);
  if (ec) return IoError(options_.data_dir + ": " + ec.message());
  std::string lock = options_.data_dir + "/.lock";
  lock_fd_ = fs.Open(lock, O_RDWR | O_CREAT, 0644);
  if (lock_fd_ < 0) return IoError(lock + ": " + std::strerror(errno));
  if (fs.Flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return IoError(options_.data_dir + " is in use by another node");
    return IoError(lock + ": cannot lock: " + std::strerror(errno));
  }
  std::string damaged = damaged_dir();
  definitions_.set_on_fatal([this](const std::string& why) { Fatal(why); });
  if (Status s = definitions_.Open(options_.data_dir, damaged, fresh); !s.ok()) return s;
  MessageLogOptions o;
  o.fs = options_.fs;
  o.dir = options_.data_dir + "/messages";
  o.damaged_dir = damaged;
  o.segment_size = options_.segment_size;
  o.fsync = options_.fsync;
  o.extra_sync_fd = definitions_.fd();
  o.extra_sync_path = definitions_.path();
  o.extra_writes = &definitions_.writes();
  o.post = options_.post;
  o.on_synced = [this] { OnSynced(); };
  o.on_fatal = [this](const std::string& why) { Fatal(why); };
  log_ = std::make_unique<MessageLog>(std::move(o));
  return Status::Ok();
}

void Store::Close() {
  if (closed_) return;
  closed_ = true;
  if (log_) log_->Close();
  waiters_.clear();
}

// Any thread (the sync thread's failures come here).
void Store::Fatal(const std::string& why) {
  if (fatal_.exchange(true)) return;
  if (options_.on_fatal) options_.on_fatal(why);
  else spdlog::critical("{}", why);
}

void Store::HoldIfPending() {
  if (hold_ || (!definitions_.pending() && !definitions_.failed())) return;
  hold_ = true;
  held_at_ = log_ ? log_->synced() : 0;
}

bool Store::Poll() {
  if (closed_ || !log_) return false;
  bool blocked = log_->Poll();
  if (hold_ && !definitions_.failed() && definitions_.Flush()) {
    // Written at last: durable once its own fdatasync says so.
    if (options_.fsync && options_.fs->Fdatasync(definitions_.fd()) != 0) {
      Fatal("store: fdatasync of " + definitions_.path() + " failed: " + std::strerror(errno));
      return true;
    }
    hold_ = false;
    OnSynced();
  }
  return blocked || definitions_.pending();
}

std::string Store::blocked_reason() const {
  if (log_ && log_->blocked()) return log_->blocked_reason();
  return definitions_.blocked_reason();
}

core::DiskRef Store::Write(const core::Message& message, const std::vector<uint64_t>& queue_ids) {
  if (closed_) return {};
  ++disk_counts_.writes;
  auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  return log_->AppendPublish(message, queue_ids, wall);
}

void Store::AddRef(const core::DiskRef& ref) {
  if (!closed_) log_->AddRef(ref);
}

void Store::Delivered(uint64_t queue_id, const core::DiskRef& ref) {
  if (!closed_) log_->AppendMark(LogRecord::kDeliver, queue_id, ref);
}

void Store::Settle(uint64_t queue_id, const core::DiskRef& ref) {
  if (closed_) return;
  log_->AppendMark(LogRecord::kSettle, queue_id, ref);
  log_->Release(ref);
}

void Store::Release(const core::DiskRef& ref) {
  if (!closed_) log_->Release(ref);
}

core::MessagePtr Store::Read(const core::DiskRef& ref) {
  if (closed_) return nullptr;
  ++disk_counts_.reads;
  return log_->Read(ref);
}

void Store::WriteBuffered() {
  if (!closed_) log_->WriteBuffered();
}

uint64_t Store::appended() const { return log_ ? log_->appended() : 0; }

uint64_t Store::synced() const {
  if (!log_) return 0;
  return hold_ ? std::min(held_at_, log_->synced()) : log_->synced();
}

void Store::WaitForSync(core::SyncWaiter* waiter) {
  if (std::find(waiters_.begin(), waiters_.end(), waiter) == waiters_.end())
    waiters_.push_back(waiter);
}

void Store::CancelWait(core::SyncWaiter* waiter) {
  waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), waiter), waiters_.end());
  std::replace(notifying_.begin(), notifying_.end(), waiter, static_cast<core::SyncWaiter*>(nullptr));
}

void Store::OnSynced() {
  if (hold_) return;  // synced() did not move
  notifying_.swap(waiters_);
  // A waiter may cancel another while being told (CancelWait nulls it).
  for (size_t i = 0; i < notifying_.size(); ++i)
    if (core::SyncWaiter* w = notifying_[i]) w->OnSynced();
  notifying_.clear();
}

}  // namespace warren::store
