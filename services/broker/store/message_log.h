// The message log: numbered segment files under <data_dir>/messages, each a
// file header and a sequence of records (record.h) holding publish, deliver
// and settle payloads (segment_records.h).
//
// Appends go to a buffer that is written before the node next writes to a
// socket (WriteBuffered) or when it grows large. With fsync on, a sync
// thread fdatasyncs what was written and reports back on the loop, so all
// publishers waiting in one window share one fsync (group commit). Only a
// publish asks for a round: deliver and settle marks, which nothing waits
// for, go with the next publish's round or at the next Poll(), so a disk
// shared by busy publishers and consumers is not flushed for acks alone.
// (Written marks survive a kill of the process; only a crash of the machine
// within a Poll() interval can lose one, and a lost ack redelivers.)
//
// When the disk fails (store/README.md, "When the disk fails"): synced()
// never passes what an fdatasync made durable. A failed fdatasync, or a
// write or create failing for any reason but a full disk, is fatal: the log
// stops (no more writes, syncs or confirms) and tells `on_fatal`, once. A
// full disk (or quota, or no free descriptor) holds the buffer and reports
// blocked() until Poll() gets it written.
//
// Space: every segment counts the references still held on its publish
// records. A segment is deleted when it holds none. If some settle/deliver
// record in it refers to a segment that still exists (deleting it alone
// would bring that message back at restart), those records are first
// appended again at the head of the log, and the file goes once they are
// durable; so one long-lived message pins only its own segment. Deletions
// happen in the order segments died, each only after the one before it.
//
// Recovery skips damaged records (scanner.h), keeps a copy of them under
// <data_dir>/damaged and reports them; only the newest segment's torn tail is
// cut off.
//
// Lifecycle: owned by the Store; all calls on the node's event loop except
// the sync thread's, which touches only what mu_ guards, failed_ and
// on_fatal.
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
#include <utility>
#include <vector>

#include "broker/core/message.h"
#include "broker/store/file_system.h"
#include "broker/store/record.h"
#include "broker/store/scanner.h"
#include "broker/store/segment_records.h"
#include "common/status.h"

namespace warren::store {

struct MessageLogOptions {
  FileSystem* fs = &FileSystem::Default();
  std::string dir;               // <data_dir>/messages
  std::string damaged_dir;       // <data_dir>/damaged: copies of damaged bytes
  uint64_t segment_size = 16 << 20;
  bool fsync = true;
  int extra_sync_fd = -1;        // also fdatasynced in a round (definitions)
  std::string extra_sync_path;   // its name, for messages
  // Bumped after each write to extra_sync_fd: a round syncs that file only
  // when it moved since the last one (null: every round does). A clean
  // file's fdatasync still costs the disk a cache flush.
  const std::atomic<uint64_t>* extra_writes = nullptr;
  // Runs a function on the node's event loop (thread-safe).
  std::function<void(std::function<void()>)> post;
  // Told on the loop whenever synced() moved.
  std::function<void()> on_synced;
  // Told once, from the loop or the sync thread, that the log stopped.
  std::function<void(const std::string&)> on_fatal;
};

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

// What recovery skipped.
struct RecoveryReport {
  size_t damaged_ranges = 0;
  uint64_t damaged_bytes = 0;
  uint64_t damaged_records = 0;  // at least this many
  uint64_t torn_bytes = 0;       // the newest segment's unfinished last write
};

class MessageLog {
 public:
  explicit MessageLog(MessageLogOptions options);
  ~MessageLog();
  MessageLog(const MessageLog&) = delete;
  MessageLog& operator=(const MessageLog&) = delete;

  // Recovery: streams every segment in order, skipping damage, and reports
  // publish records and deliver/settle marks.
  struct Replay {
    std::function<void(const PublishInfo&)> publish;
    std::function<void(LogRecord kind, uint64_t queue, uint64_t id, uint32_t segment)> mark;
  };
  Status Recover(const Replay& replay);
  const RecoveryReport& recovery() const { return report_; }
  // After recovery: references the caller keeps on recovered records, then
  // opens a fresh segment to append to and starts the sync thread.
  Status Start(const std::vector<std::pair<uint32_t, uint64_t>>& live_per_segment);
  // Flushes, syncs and stops the sync thread; later calls do nothing.
  void Close();

  core::DiskRef AppendPublish(const core::Message& m, const std::vector<uint64_t>& queues,
                              int64_t wall_ms);
  void AppendMark(LogRecord kind, uint64_t queue, const core::DiskRef& ref);
  void AddRef(const core::DiskRef& ref);
  void Release(const core::DiskRef& ref);
  core::MessagePtr Read(const core::DiskRef& ref);

  void WriteBuffered();
  // Retries what a full disk held up (writes, deletions, carrying acks
  // forward); true while writes still fail.
  bool Poll();
  bool blocked() const { return blocked_; }
  const std::string& blocked_reason() const { return blocked_reason_; }
  bool failed() const { return failed_.load(); }

  uint64_t appended() const { return appended_; }
  uint64_t synced() const { return synced_; }
  // The latest position a sync round was asked for.
  uint64_t requested() const { return requested_; }
  size_t segment_count() const { return segments_.size(); }
  // fdatasync rounds the sync thread has finished (each covers a window).
  uint64_t sync_rounds() const { return sync_rounds_.load(); }

 private:
  struct Segment {
    uint64_t live = 0;             // references to its publish records
    std::set<uint32_t> targets;    // older segments its marks refer to
    int read_fd = -1;
    Framing framing;
    bool keep = false;             // damaged with no copy kept: never deleted
  };
  std::string PathOf(uint32_t segment) const;
  void OpenSegment();
  bool OpenFile();
  void Rotate();
  bool Flush();
  // A call failed with `error`: blocks (retryable) or stops the log.
  void Problem(int error, const std::string& what);
  void Fail(const std::string& why);
  // Runs `fn` on the loop soon, once however often asked before it runs.
  void PostOnce(bool& posted, void (MessageLog::*fn)());
  void ScheduleWrite();
  void ScheduleReclaim();
  void Reclaim();
  bool CarryForward(uint32_t segment);
  void UnlinkDead();
  void RequestSync();
  void SyncLoop();
  std::string SyncRound(std::vector<std::pair<int, uint32_t>>& closing, int fd, uint32_t segment,
                        bool files, bool extra);
  void Synced(uint64_t upto);
  Status RecoverSegment(uint32_t number, bool newest, const Replay& replay);
  bool KeepDamage(uint32_t number, bool newest, const Damage& d);

  MessageLogOptions options_;
  FileSystem& fs_;
  std::map<uint32_t, Segment> segments_;
  uint32_t current_ = 0;
  Framing framing_;             // the current segment's
  int fd_ = -1;
  uint64_t current_size_ = 0;   // bytes in the current segment, buffered included
  std::string buffer_;
  uint64_t next_id_ = 1;
  uint64_t appended_ = 0;       // log positions: bytes appended since start
  uint64_t written_ = 0;
  uint64_t synced_ = 0;
  uint64_t publish_end_ = 0;  // appended_ after the latest publish
  uint64_t requested_ = 0;    // the latest position a round was asked for
  // Dead segments, in the order they died, each with the log position that
  // must be durable before its file goes (its carried-forward marks).
  std::deque<std::pair<uint64_t, uint32_t>> pending_unlinks_;
  bool unlink_failing_ = false;
  bool reclaim_retry_ = false;  // a dead segment could not be read: try again
  bool blocked_ = false;
  std::string blocked_reason_;
  bool write_posted_ = false;
  bool reclaim_posted_ = false;
  bool closed_ = false;
  RecoveryReport report_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::atomic<bool> failed_{false};

  // Shared with the sync thread.
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<int, uint32_t>> to_close_;  // rotated segments: sync, then close
  uint32_t fd_segment_ = 0;      // the segment fd_ belongs to
  uint64_t sync_target_ = 0;
  bool stop_ = false;
  std::atomic<uint64_t> sync_rounds_{0};
  std::thread sync_thread_;
};

}  // namespace warren::store
