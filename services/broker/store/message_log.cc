#include "broker/store/message_log.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <optional>

#include "amqp/properties.h"
#include "amqp/wire.h"
#include "broker/store/file_io.h"
#include "common/log.h"

namespace warren::store {

namespace {

constexpr size_t kWriteAtOnce = 4 << 20;

}  // namespace

MessageLog::MessageLog(MessageLogOptions options)
    : options_(std::move(options)), fs_(*options_.fs) {}

MessageLog::~MessageLog() {
  Close();
  *alive_ = false;
}

std::string MessageLog::PathOf(uint32_t segment) const {
  char name[32];
  std::snprintf(name, sizeof name, "%020" PRIu32 ".seg", segment);
  return options_.dir + "/" + name;
}

Status MessageLog::Start(const std::vector<std::pair<uint32_t, uint64_t>>& live_per_segment) {
  for (auto [segment, live] : live_per_segment) segments_[segment].live += live;
  ++current_;
  OpenSegment();
  if (failed_ || blocked_) return IoError(failed_ ? "the message log failed" : blocked_reason_);
  if (options_.fsync) sync_thread_ = std::thread([this] { SyncLoop(); });
  Reclaim();
  return Status::Ok();
}

// A new segment starts with its header, written with its first records.
void MessageLog::OpenSegment() {
  framing_ = Framing::Random();
  Segment& seg = segments_[current_];
  seg.framing = framing_;
  buffer_ += FileHeader(FileKind::kSegment, framing_);
  current_size_ = kFileHeader;
  appended_ += kFileHeader;
  OpenFile();
}

// Creates the current segment's file; its name is made durable before
// anything in it can be confirmed.
bool MessageLog::OpenFile() {
  std::string path = PathOf(current_);
  int fd = fs_.Open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    Problem(errno, "cannot create " + path);
    return false;
  }
  if (Status s = SyncDirectory(fs_, options_.dir); !s.ok()) {
    fs_.Close(fd);
    Fail("store: " + s.error().text + " (after creating " + path + ")");
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  fd_ = fd;
  fd_segment_ = current_;
  return true;
}

void MessageLog::Rotate() {
  WriteBuffered();
  // Records still buffered belong to this segment's offsets: keep it until
  // they are out (a failing disk), however large it grows.
  if (!buffer_.empty() || fd_ < 0) return;
  uint32_t old = current_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (options_.fsync) to_close_.push_back({fd_, old});
    else fs_.Close(fd_);
    fd_ = -1;
  }
  ++current_;
  OpenSegment();
  if (segments_[old].live == 0) ScheduleReclaim();
}

core::DiskRef MessageLog::AppendPublish(const core::Message& m, const std::vector<uint64_t>& queues,
                                        int64_t wall_ms) {
  size_t estimate = 64 + queues.size() * 8 + m.exchange.size() + m.routing_key.size() +
                    m.raw_properties.size() + m.body.size();
  if (current_size_ > kFileHeader && current_size_ + estimate > options_.segment_size) Rotate();
  size_t at = BeginRecord(buffer_, framing_, static_cast<uint8_t>(LogRecord::kPublish));
  uint64_t id = next_id_++;
  buffer_ += EncodePublish(id, wall_ms, m.ttl_ms.value_or(-1), m.priority(), queues, m.exchange,
                           m.routing_key, m.raw_properties, m.body);
  FinishRecord(buffer_, framing_, at);
  auto length = static_cast<uint32_t>(buffer_.size() - at);
  core::DiskRef ref{id, current_, static_cast<uint32_t>(current_size_), length};
  current_size_ += length;
  appended_ += length;
  publish_end_ = appended_;
  segments_[current_].live += std::max<size_t>(1, queues.size());
  ScheduleWrite();
  return ref;
}

void MessageLog::AppendMark(LogRecord kind, uint64_t queue, const core::DiskRef& ref) {
  if (current_size_ > kFileHeader && current_size_ + 40 > options_.segment_size) Rotate();
  size_t at = BeginRecord(buffer_, framing_, static_cast<uint8_t>(kind));
  buffer_ += EncodeMark(queue, ref.id, ref.segment);
  FinishRecord(buffer_, framing_, at);
  uint64_t length = buffer_.size() - at;
  current_size_ += length;
  appended_ += length;
  if (ref.segment != current_ && segments_.count(ref.segment))
    segments_[current_].targets.insert(ref.segment);
  ScheduleWrite();
}

void MessageLog::AddRef(const core::DiskRef& ref) {
  if (auto it = segments_.find(ref.segment); it != segments_.end()) ++it->second.live;
}

void MessageLog::Release(const core::DiskRef& ref) {
  auto it = segments_.find(ref.segment);
  if (it == segments_.end() || it->second.live == 0) return;
  if (--it->second.live == 0 && ref.segment != current_) ScheduleReclaim();
}

core::MessagePtr MessageLog::Read(const core::DiskRef& ref) {
  auto it = segments_.find(ref.segment);
  if (it == segments_.end()) return nullptr;
  Segment& seg = it->second;
  std::string raw(ref.length, '\0');
  uint64_t buffered_from = current_size_ - buffer_.size();
  if (ref.segment == current_ && ref.offset >= buffered_from) {
    // Not written yet (or held up by a full disk): read it from the buffer.
    raw = buffer_.substr(ref.offset - buffered_from, ref.length);
  } else {
    if (ref.segment == current_ && ref.offset + ref.length > buffered_from) Flush();
    if (seg.read_fd < 0) seg.read_fd = fs_.Open(PathOf(ref.segment), O_RDONLY);
    if (seg.read_fd < 0 || !PreadAll(fs_, seg.read_fd, raw, ref.offset).ok()) return nullptr;
  }
  uint8_t type;
  std::string_view payload;
  size_t consumed;
  if (ParseRecord(raw, seg.framing, type, payload, consumed) != RecordParse::kOk ||
      type != static_cast<uint8_t>(LogRecord::kPublish))
    return nullptr;
  amqp::Reader r(payload);
  PublishHeader h;
  if (!DecodePublishHeader(r, h) || h.id != ref.id) return nullptr;
  auto m = std::make_shared<core::Message>();
  m->exchange = r.ShortStr();
  m->routing_key = r.ShortStr();
  std::string raw_props(r.LongStr());
  amqp::BasicProperties properties;
  if (!r.ok() || !amqp::DecodeProperties(raw_props, properties)) return nullptr;
  m->SetProperties(std::move(raw_props), properties);
  m->body = r.Bytes(r.remaining());
  if (h.ttl_ms >= 0) m->ttl_ms = h.ttl_ms;
  m->disk = ref;
  return m;
}

void MessageLog::ScheduleWrite() {
  if (buffer_.size() >= kWriteAtOnce) {
    WriteBuffered();
    return;
  }
  PostOnce(write_posted_, &MessageLog::WriteBuffered);
}

void MessageLog::PostOnce(bool& posted, void (MessageLog::*fn)()) {
  if (posted) return;
  posted = true;
  std::weak_ptr<bool> alive = alive_;
  options_.post([this, alive, &posted, fn] {
    if (alive.expired()) return;
    posted = false;
    (this->*fn)();
  });
}

// While blocked, only Poll() retries: the hot path does not hammer a full disk.
void MessageLog::WriteBuffered() {
  if (!closed_ && !blocked_ && !buffer_.empty()) Flush();
}

bool MessageLog::Flush() {
  if (closed_ || failed_) return false;
  if (fd_ < 0 && !OpenFile()) return false;
  size_t done = 0;
  int error = 0;
  Status s = WriteAll(fs_, fd_, buffer_, &done, &error);
  buffer_.erase(0, done);
  written_ = appended_ - buffer_.size();
  if (!s.ok()) {
    // What is left stays buffered; confirms wait until it is out.
    Problem(error, "cannot write " + PathOf(current_));
    return false;
  }
  if (blocked_) spdlog::info("store: the message log is written again");
  blocked_ = false;
  if (!options_.fsync) Synced(written_);
  else if (publish_end_ > requested_) RequestSync();  // marks alone wait (see the header)
  return true;
}

void MessageLog::Problem(int error, const std::string& what) {
  std::string why = what + ": " + std::strerror(error);
  if (!Retryable(error)) {
    Fail("store: " + why);
    return;
  }
  if (!blocked_)
    spdlog::error("store: {}; publishers are blocked and nothing more is confirmed until it "
                  "succeeds", why);
  blocked_ = true;
  blocked_reason_ = why;
}

void MessageLog::Fail(const std::string& why) {
  if (failed_.exchange(true)) return;
  if (options_.on_fatal) options_.on_fatal(why);
  else spdlog::critical("{}", why);
}

bool MessageLog::Poll() {
  if (closed_ || failed_) return false;
  if (blocked_) Flush();
  if (options_.fsync && !blocked_ && written_ > requested_) RequestSync();  // marks alone
  if (reclaim_retry_ && !blocked_) {
    reclaim_retry_ = false;
    Reclaim();
  }
  UnlinkDead();
  return blocked_;
}

void MessageLog::RequestSync() {
  requested_ = written_;
  std::lock_guard<std::mutex> lock(mu_);
  sync_target_ = written_;
  cv_.notify_one();
}

// One round: the rotated segments, then (if `files`) the current one and,
// if `extra`, the definitions. Returns what failed, if anything.
std::string MessageLog::SyncRound(std::vector<std::pair<int, uint32_t>>& closing, int fd,
                                  uint32_t segment, bool files, bool extra) {
  std::string failed;
  auto sync = [&](int f, const std::string& path) {
    if (failed.empty() && fs_.Fdatasync(f) != 0)
      failed = "store: fdatasync of " + path + " failed: " + std::strerror(errno);
  };
  for (auto [c, n] : closing) {
    sync(c, PathOf(n));
    fs_.Close(c);
  }
  closing.clear();
  if (files && fd >= 0) sync(fd, PathOf(segment));
  if (files && extra && options_.extra_sync_fd >= 0)
    sync(options_.extra_sync_fd, options_.extra_sync_path);
  return failed;
}

// Linux may drop the pages a failed fdatasync did not write and report the
// next call as a success: a failure is never retried, the log stops.
void MessageLog::SyncLoop() {
  uint64_t done = 0;
  // The extra file's writes the last round covered; none yet: the first
  // round syncs it.
  std::optional<uint64_t> extra_done;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || sync_target_ > done || !to_close_.empty(); });
    if (stop_ && sync_target_ <= done && to_close_.empty()) return;
    std::vector<std::pair<int, uint32_t>> closing;
    closing.swap(to_close_);
    uint64_t target = sync_target_;
    int fd = fd_;
    uint32_t segment = fd_segment_;
    // Read under mu_: a write to the extra file that came before the
    // RequestSync of `target` is counted here.
    std::optional<uint64_t> extra_now;
    if (options_.extra_writes) extra_now = options_.extra_writes->load(std::memory_order_acquire);
    bool extra = !extra_now || extra_now != extra_done;
    lock.unlock();
    std::string failed = SyncRound(closing, fd, segment, target > done, extra);
    if (!failed.empty()) {
      Fail(failed);
      return;
    }
    if (target > done) {
      done = target;
      if (extra) extra_done = extra_now;
      ++sync_rounds_;
      std::weak_ptr<bool> alive = alive_;
      options_.post([this, alive, target] {
        if (!alive.expired()) Synced(target);
      });
    }
    lock.lock();
  }
}

void MessageLog::Synced(uint64_t upto) {
  if (closed_ || upto <= synced_) return;
  synced_ = upto;
  UnlinkDead();
  if (options_.on_synced) options_.on_synced();
}

void MessageLog::ScheduleReclaim() {
  if (!closed_) PostOnce(reclaim_posted_, &MessageLog::Reclaim);
}

void MessageLog::Reclaim() {
  if (closed_ || failed_) return;
  // Ascending: a segment's marks refer only to older segments, so one pass
  // deletes whole chains. A dead segment whose marks still matter to an
  // older live segment (an ack for a message there) first copies those
  // marks to the head of the log; its file goes once they are durable.
  bool carried = false;
  for (auto it = segments_.begin(); it != segments_.end();) {
    Segment& s = it->second;
    if (it->first == current_ || s.live > 0 || s.keep) {
      ++it;
      continue;
    }
    if (std::any_of(s.targets.begin(), s.targets.end(),
                    [&](uint32_t t) { return segments_.count(t) > 0; })) {
      if (!CarryForward(it->first)) {
        reclaim_retry_ = true;  // Poll() tries again; the file stays meanwhile
        ++it;
        continue;
      }
      carried = true;
    }
    if (s.read_fd >= 0) fs_.Close(s.read_fd);
    pending_unlinks_.push_back({carried ? appended_ : 0, it->first});
    it = segments_.erase(it);
  }
  if (carried) WriteBuffered();
  UnlinkDead();
}

bool MessageLog::CarryForward(uint32_t segment) {
  std::vector<Mark> marks;
  auto scan = ScanFile(fs_, PathOf(segment), FileKind::kSegment, false,
                       [&](uint8_t type, std::string_view payload, uint64_t) {
                         Mark m;
                         if (DecodeMark(type, payload, m) && m.segment != segment &&
                             segments_.count(m.segment))
                           marks.push_back(m);
                       });
  if (!scan.ok()) {
    spdlog::error("store: cannot read segment {} to carry its acks forward ({}); it stays until "
                  "it can be read", segment, scan.error().text);
    return false;
  }
  for (const Mark& m : marks) AppendMark(m.kind, m.queue, core::DiskRef{m.id, m.segment, 0, 0});
  return true;
}

// Deletes dead segments in the order they died. One that cannot be deleted
// holds back those after it: their acks may be for its messages.
void MessageLog::UnlinkDead() {
  while (!pending_unlinks_.empty() && pending_unlinks_.front().first <= synced_) {
    std::string path = PathOf(pending_unlinks_.front().second);
    if (fs_.Unlink(path) != 0 && errno != ENOENT) {
      if (!unlink_failing_)
        spdlog::error("store: cannot delete {}: {}; it and the segments that died after it are "
                      "kept until it can be", path, std::strerror(errno));
      unlink_failing_ = true;
      return;
    }
    unlink_failing_ = false;
    pending_unlinks_.pop_front();
  }
}

void MessageLog::Close() {
  if (closed_) return;
  WriteBuffered();
  closed_ = true;
  if (sync_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      sync_target_ = written_;
      cv_.notify_one();
    }
    sync_thread_.join();
  }
  if (fd_ >= 0) {
    if (options_.fsync && !failed_ && fs_.Fdatasync(fd_) != 0)
      spdlog::error("store: fdatasync of {} failed at shutdown: {}", PathOf(current_),
                    std::strerror(errno));
    fs_.Close(fd_);
    fd_ = -1;
  }
  for (auto [fd, n] : to_close_) fs_.Close(fd);
  to_close_.clear();
  for (auto& [n, s] : segments_)
    if (s.read_fd >= 0) fs_.Close(s.read_fd);
}

}  // namespace warren::store
