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

namespace warren::store {

Store::Store(StoreOptions options)
    : options_(std::move(options)), definitions_(*options_.fs) {}

Store::~Store() {
  Close();
  if (lock_fd_ >= 0) options_.fs->Close(lock_fd_);
}

Status Store::Open(bool& fresh) {
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir + "/messages", ec);
  if (ec) return IoError(options_.data_dir + ": " + ec.message());
  std::string lock = options_.data_dir + "/.lock";
  lock_fd_ = options_.fs->Open(lock, O_RDWR | O_CREAT, 0644);
  if (lock_fd_ < 0) return IoError(lock + ": " + std::strerror(errno));
  if (options_.fs->Flock(lock_fd_, LOCK_EX | LOCK_NB) != 0)
    return IoError(options_.data_dir + " is in use by another node");
  if (Status s = definitions_.Open(options_.data_dir, fresh); !s.ok()) return s;
  MessageLogOptions o;
  o.fs = options_.fs;
  o.dir = options_.data_dir + "/messages";
  o.segment_size = options_.segment_size;
  o.fsync = options_.fsync;
  o.extra_sync_fd = definitions_.fd();
  o.post = options_.post;
  o.on_synced = [this] { OnSynced(); };
  log_ = std::make_unique<MessageLog>(std::move(o));
  return Status::Ok();
}

void Store::Close() {
  if (closed_) return;
  closed_ = true;
  if (log_) log_->Close();
  waiters_.clear();
}

core::DiskRef Store::Write(const core::Message& message, const std::vector<uint64_t>& queue_ids) {
  if (closed_) return {};
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
  return closed_ ? nullptr : log_->Read(ref);
}

void Store::WriteBuffered() {
  if (!closed_) log_->WriteBuffered();
}

uint64_t Store::appended() const { return log_ ? log_->appended() : 0; }
uint64_t Store::synced() const { return log_ ? log_->synced() : 0; }

void Store::WaitForSync(core::SyncWaiter* waiter) {
  if (std::find(waiters_.begin(), waiters_.end(), waiter) == waiters_.end())
    waiters_.push_back(waiter);
}

void Store::CancelWait(core::SyncWaiter* waiter) {
  waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), waiter), waiters_.end());
  std::replace(notifying_.begin(), notifying_.end(), waiter, static_cast<core::SyncWaiter*>(nullptr));
}

void Store::OnSynced() {
  notifying_.swap(waiters_);
  // A waiter may cancel another while being told (CancelWait nulls it).
  for (size_t i = 0; i < notifying_.size(); ++i)
    if (core::SyncWaiter* w = notifying_[i]) w->OnSynced();
  notifying_.clear();
}

}  // namespace warren::store
