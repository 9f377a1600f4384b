// The message log: numbered segment files under <data_dir>/messages, each a
// sequence of records (record.h):
//
//   publish  id, wall ms, ttl, priority, durable queue ids, exchange,
//            routing key, properties, body
//   deliver  queue id, message id, message's segment   (sent, not yet acked)
//   settle   queue id, message id, message's segment   (gone from that queue)
//
// Appends go to a buffer that is written before the node next writes to a
// socket (WriteBuffered) or when it grows large. With fsync on, a sync
// thread fdatasyncs what was written and reports back on the loop, so all
// publishers waiting in one window share one fsync (group commit).
//
// Space: every segment counts the references still held on its publish
// records. A segment is deleted when it holds none. If some settle/deliver
// record in it refers to a segment that still exists (deleting it alone
// would bring that message back at restart), those records are first
// appended again at the head of the log, and the file goes once they are
// durable; so one long-lived message pins only its own segment.
//
// Lifecycle: owned by the Store; all calls on the node's event loop except
// the sync thread's, which touches only what mu_ guards.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "broker/core/message.h"
#include "broker/store/file_system.h"
#include "common/status.h"

namespace warren::store {

struct MessageLogOptions {
  FileSystem* fs = &FileSystem::Default();
  std::string dir;               // <data_dir>/messages
  uint64_t segment_size = 16 << 20;
  bool fsync = true;
  int extra_sync_fd = -1;        // also fdatasynced each round (definitions)
  // Runs a function on the node's event loop (thread-safe).
  std::function<void(std::function<void()>)> post;
  // Told on the loop whenever synced() moved.
  std::function<void()> on_synced;
};

enum class LogRecord : uint8_t { kPublish = 1, kDeliver = 2, kSettle = 3 };

// What recovery keeps of a publish record (the body stays on disk).
struct StoredMessage {
  core::DiskRef ref;
  int64_t wall_ms = 0;
  int64_t ttl_ms = -1;
  uint32_t size = 0;
  uint8_t priority = 0;
};

struct PublishInfo : StoredMessage {
  std::vector<uint64_t> queues;  // the durable queues it was written for
};

class MessageLog {
 public:
  explicit MessageLog(MessageLogOptions options);
  ~MessageLog();
  MessageLog(const MessageLog&) = delete;
  MessageLog& operator=(const MessageLog&) = delete;

  // Recovery: streams every segment in order, truncating a damaged tail,
  // and reports publish records and deliver/settle marks.
  struct Replay {
    std::function<void(const PublishInfo&)> publish;
    std::function<void(LogRecord kind, uint64_t queue, uint64_t id, uint32_t segment)> mark;
  };
  Status Recover(const Replay& replay);
  // After recovery: references the caller keeps on recovered records, then
  // opens a fresh segment to append to and starts the sync thread.
  void Start(const std::vector<std::pair<uint32_t, uint64_t>>& live_per_segment);
  // Flushes, syncs and stops the sync thread; later calls do nothing.
  void Close();

  core::DiskRef AppendPublish(const core::Message& m, const std::vector<uint64_t>& queues,
                              int64_t wall_ms);
  void AppendMark(LogRecord kind, uint64_t queue, const core::DiskRef& ref);
  void AddRef(const core::DiskRef& ref);
  void Release(const core::DiskRef& ref);
  core::MessagePtr Read(const core::DiskRef& ref);

  void WriteBuffered();
  uint64_t appended() const { return appended_; }
  uint64_t synced() const { return synced_; }
  size_t segment_count() const { return segments_.size(); }
  // fdatasync rounds the sync thread has finished (each covers a window).
  uint64_t sync_rounds() const { return sync_rounds_.load(); }

 private:
  struct Segment {
    uint64_t live = 0;             // references to its publish records
    std::set<uint32_t> targets;    // older segments its marks refer to
    int read_fd = -1;
  };
  std::string PathOf(uint32_t segment) const;
  void OpenSegment();
  void Rotate();
  // Runs `fn` on the loop soon, once however often asked before it runs.
  void PostOnce(bool& posted, void (MessageLog::*fn)());
  void ScheduleWrite();
  void ScheduleReclaim();
  void Reclaim();
  void CarryForward(uint32_t segment);
  void RequestSync();
  void SyncLoop();
  void Synced(uint64_t upto);
  Status RecoverSegment(uint32_t number, const Replay& replay);

  MessageLogOptions options_;
  std::map<uint32_t, Segment> segments_;
  uint32_t current_ = 0;
  int fd_ = -1;
  uint64_t current_size_ = 0;   // bytes in the current segment, buffered included
  std::string buffer_;
  uint64_t next_id_ = 1;
  uint64_t appended_ = 0;       // log positions: bytes appended since start
  uint64_t written_ = 0;
  uint64_t synced_ = 0;
  // Dead segments whose carried-forward marks must be durable (log
  // position) before the file goes.
  std::deque<std::pair<uint64_t, uint32_t>> pending_unlinks_;
  bool write_posted_ = false;
  bool reclaim_posted_ = false;
  bool closed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  // Shared with the sync thread.
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> to_close_;    // rotated segments: sync, then close
  uint64_t sync_target_ = 0;
  bool stop_ = false;
  std::atomic<uint64_t> sync_rounds_{0};
  std::thread sync_thread_;
};

}  // namespace warren::store
