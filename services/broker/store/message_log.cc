#include "broker/store/message_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>

#include "amqp/properties.h"
#include "amqp/wire.h"
#include "broker/store/file_io.h"
#include "broker/store/record.h"
#include "common/log.h"

namespace warren::store {

namespace {

constexpr size_t kWriteAtOnce = 4 << 20;

// Segment file names: 20 decimal digits, ".seg".
bool ParseSegmentName(const char* name, uint32_t& number) {
  size_t n = std::strlen(name);
  if (n != 24 || std::strcmp(name + 20, ".seg") != 0) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  if (v == 0 || v > UINT32_MAX) return false;
  number = static_cast<uint32_t>(v);
  return true;
}

// The fixed part of a publish record, up to the queue ids.
struct PublishHeader {
  uint64_t id = 0;
  int64_t wall_ms = 0;
  int64_t ttl_ms = -1;
  uint8_t priority = 0;
  std::vector<uint64_t> queues;
};

bool DecodeHeader(amqp::Reader& r, PublishHeader& h) {
  h.id = r.U64();
  h.wall_ms = static_cast<int64_t>(r.U64());
  h.ttl_ms = static_cast<int64_t>(r.U64());
  h.priority = r.U8();
  uint16_t n = r.U16();
  for (uint16_t i = 0; i < n && r.ok(); ++i) h.queues.push_back(r.U64());
  return r.ok();
}

// A deliver or settle record.
struct Mark {
  LogRecord kind;
  uint64_t queue = 0, id = 0;
  uint32_t segment = 0;  // where the message's publish record is
};

bool DecodeMark(uint8_t type, std::string_view payload, Mark& m) {
  if (type != static_cast<uint8_t>(LogRecord::kDeliver) &&
      type != static_cast<uint8_t>(LogRecord::kSettle))
    return false;
  amqp::Reader r(payload);
  m.kind = static_cast<LogRecord>(type);
  m.queue = r.U64();
  m.id = r.U64();
  m.segment = r.U32();
  return r.ok();
}

}  // namespace

MessageLog::MessageLog(MessageLogOptions options) : options_(std::move(options)) {}

MessageLog::~MessageLog() {
  Close();
  *alive_ = false;
}

std::string MessageLog::PathOf(uint32_t segment) const {
  char name[32];
  std::snprintf(name, sizeof name, "%020" PRIu32 ".seg", segment);
  return options_.dir + "/" + name;
}

Status MessageLog::Recover(const Replay& replay) {
  std::vector<uint32_t> numbers;
  std::vector<std::string> names;
  if (options_.fs->List(options_.dir, names) != 0)
    return IoError(options_.dir + ": " + std::strerror(errno));
  for (const std::string& name : names) {
    uint32_t n;
    if (ParseSegmentName(name.c_str(), n)) numbers.push_back(n);
  }
  std::sort(numbers.begin(), numbers.end());
  for (uint32_t n : numbers) {
    if (Status s = RecoverSegment(n, replay); !s.ok()) return s;
    current_ = n;
  }
  return Status::Ok();
}

Status MessageLog::RecoverSegment(uint32_t number, const Replay& replay) {
  std::string path = PathOf(number);
  Segment& seg = segments_[number];
  auto scan = ScanFile(*options_.fs, path, [&](uint8_t type, std::string_view payload, uint64_t offset) {
    amqp::Reader r(payload);
    if (type == static_cast<uint8_t>(LogRecord::kPublish)) {
      PublishHeader h;
      if (!DecodeHeader(r, h)) return;
      next_id_ = std::max(next_id_, h.id + 1);
      if (h.queues.empty()) return;  // a page-out copy: not kept across restarts
      r.ShortStr();
      r.ShortStr();
      r.LongStr();
      if (!r.ok()) return;
      PublishInfo info;
      info.ref = core::DiskRef{h.id, number, static_cast<uint32_t>(offset),
                               static_cast<uint32_t>(kRecordHeader + payload.size())};
      info.wall_ms = h.wall_ms;
      info.ttl_ms = h.ttl_ms;
      info.priority = h.priority;
      info.size = static_cast<uint32_t>(r.remaining());
      info.queues = std::move(h.queues);
      replay.publish(info);
    } else if (Mark m; DecodeMark(type, payload, m)) {
      if (m.segment != number) seg.targets.insert(m.segment);
      replay.mark(m.kind, m.queue, m.id, m.segment);
    }
  });
  if (!scan.ok()) return scan.error();
  const ScanResult& r = scan.value();
  if (!r.why.empty()) {
    spdlog::warn("store: segment {}: {} at offset {}; dropped {} bytes after it", number, r.why,
                 r.good_end, r.dropped);
    if (options_.fs->Truncate(path, static_cast<off_t>(r.good_end)) != 0)
      return IoError(path + ": cannot truncate: " + std::strerror(errno));
  }
  return Status::Ok();
}

void MessageLog::Start(const std::vector<std::pair<uint32_t, uint64_t>>& live_per_segment) {
  for (auto [segment, live] : live_per_segment) segments_[segment].live += live;
  ++current_;
  OpenSegment();
  if (options_.fsync) sync_thread_ = std::thread([this] { SyncLoop(); });
  Reclaim();
}

void MessageLog::OpenSegment() {
  std::string path = PathOf(current_);
  int fd = options_.fs->Open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) spdlog::critical("store: cannot create {}: {}", path, std::strerror(errno));
  SyncDirectory(*options_.fs, options_.dir);
  std::lock_guard<std::mutex> lock(mu_);
  fd_ = fd;
  segments_[current_];
  current_size_ = 0;
}

void MessageLog::Rotate() {
  WriteBuffered();
  // Records still buffered belong to this segment's offsets: keep it until
  // they are out (a failing disk), however large it grows.
  if (!buffer_.empty()) return;
  uint32_t old = current_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (options_.fsync) to_close_.push_back(fd_);
    else options_.fs->Close(fd_);
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
  if (current_size_ > 0 && current_size_ + estimate > options_.segment_size) Rotate();
  size_t at = BeginRecord(buffer_, static_cast<uint8_t>(LogRecord::kPublish));
  uint64_t id = next_id_++;
  amqp::Writer w(buffer_);
  w.U64(id);
  w.U64(static_cast<uint64_t>(wall_ms));
  w.U64(static_cast<uint64_t>(m.ttl_ms.value_or(-1)));
  w.U8(m.priority());
  w.U16(static_cast<uint16_t>(queues.size()));
  for (uint64_t q : queues) w.U64(q);
  w.ShortStr(m.exchange);
  w.ShortStr(m.routing_key);
  w.LongStr(m.raw_properties);
  w.Bytes(m.body);
  FinishRecord(buffer_, at);
  auto length = static_cast<uint32_t>(buffer_.size() - at);
  core::DiskRef ref{id, current_, static_cast<uint32_t>(current_size_), length};
  current_size_ += length;
  appended_ += length;
  segments_[current_].live += std::max<size_t>(1, queues.size());
  ScheduleWrite();
  return ref;
}

void MessageLog::AppendMark(LogRecord kind, uint64_t queue, const core::DiskRef& ref) {
  if (current_size_ > 0 && current_size_ + 32 > options_.segment_size) Rotate();
  size_t at = BeginRecord(buffer_, static_cast<uint8_t>(kind));
  amqp::Writer w(buffer_);
  w.U64(queue);
  w.U64(ref.id);
  w.U32(ref.segment);
  FinishRecord(buffer_, at);
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
  if (ref.segment == current_ && ref.offset + ref.length > current_size_ - buffer_.size())
    WriteBuffered();
  Segment& seg = it->second;
  if (seg.read_fd < 0) seg.read_fd = options_.fs->Open(PathOf(ref.segment), O_RDONLY);
  if (seg.read_fd < 0) return nullptr;
  std::string raw(ref.length, '\0');
  size_t got = 0;
  while (got < raw.size()) {
    ssize_t n = options_.fs->Pread(seg.read_fd, raw.data() + got, raw.size() - got,
                        static_cast<off_t>(ref.offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return nullptr;
    got += static_cast<size_t>(n);
  }
  uint8_t type;
  std::string_view payload;
  size_t consumed;
  if (ParseRecord(raw, type, payload, consumed) != RecordParse::kOk ||
      type != static_cast<uint8_t>(LogRecord::kPublish))
    return nullptr;
  amqp::Reader r(payload);
  PublishHeader h;
  if (!DecodeHeader(r, h) || h.id != ref.id) return nullptr;
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

void MessageLog::WriteBuffered() {
  if (closed_ || buffer_.empty()) return;
  size_t done = 0;
  Status s = WriteAll(*options_.fs, fd_, buffer_, &done);
  buffer_.erase(0, done);
  written_ = appended_ - buffer_.size();
  if (!s.ok()) {
    // The rest is kept for the next attempt; confirms wait until it is out.
    spdlog::error("store: cannot write segment {}: {}", current_, s.error().text);
    return;
  }
  if (options_.fsync) RequestSync();
  else Synced(written_);
}

void MessageLog::RequestSync() {
  std::lock_guard<std::mutex> lock(mu_);
  sync_target_ = written_;
  cv_.notify_one();
}

void MessageLog::SyncLoop() {
  uint64_t done = 0;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || sync_target_ > done || !to_close_.empty(); });
    if (stop_ && sync_target_ <= done && to_close_.empty()) return;
    std::vector<int> closing;
    closing.swap(to_close_);
    uint64_t target = sync_target_;
    int fd = fd_;
    lock.unlock();
    for (int c : closing) {
      options_.fs->Fdatasync(c);
      options_.fs->Close(c);
    }
    if (target > done) {
      if (fd >= 0) options_.fs->Fdatasync(fd);
      if (options_.extra_sync_fd >= 0) options_.fs->Fdatasync(options_.extra_sync_fd);
      done = target;
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
  while (!pending_unlinks_.empty() && pending_unlinks_.front().first <= upto) {
    options_.fs->Unlink(PathOf(pending_unlinks_.front().second));
    pending_unlinks_.pop_front();
  }
  if (options_.on_synced) options_.on_synced();
}

void MessageLog::ScheduleReclaim() {
  if (!closed_) PostOnce(reclaim_posted_, &MessageLog::Reclaim);
}

void MessageLog::Reclaim() {
  if (closed_) return;
  // Ascending: a segment's marks refer only to older segments, so one pass
  // deletes whole chains. A dead segment whose marks still matter to an
  // older live segment (an ack for a message there) first copies those
  // marks to the head of the log; its file goes once they are durable.
  bool carried = false;
  std::vector<uint32_t> doomed;
  for (auto it = segments_.begin(); it != segments_.end();) {
    Segment& s = it->second;
    if (it->first == current_ || s.live > 0) {
      ++it;
      continue;
    }
    if (std::any_of(s.targets.begin(), s.targets.end(),
                    [&](uint32_t t) { return segments_.count(t) > 0; })) {
      CarryForward(it->first);
      carried = true;
    }
    if (s.read_fd >= 0) options_.fs->Close(s.read_fd);
    doomed.push_back(it->first);
    it = segments_.erase(it);
  }
  if (!carried) {
    for (uint32_t n : doomed) options_.fs->Unlink(PathOf(n));
    return;
  }
  for (uint32_t n : doomed) pending_unlinks_.push_back({appended_, n});
  WriteBuffered();
}

void MessageLog::CarryForward(uint32_t segment) {
  auto scan = ScanFile(*options_.fs, PathOf(segment), [&](uint8_t type, std::string_view payload, uint64_t) {
    Mark m;
    if (DecodeMark(type, payload, m) && m.segment != segment && segments_.count(m.segment))
      AppendMark(m.kind, m.queue, core::DiskRef{m.id, m.segment, 0, 0});
  });
  if (!scan.ok()) spdlog::error("store: {}", scan.error().text);
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
    if (options_.fsync) options_.fs->Fdatasync(fd_);
    options_.fs->Close(fd_);
    fd_ = -1;
  }
  for (int fd : to_close_) options_.fs->Close(fd);
  to_close_.clear();
  for (auto& [n, s] : segments_)
    if (s.read_fd >= 0) options_.fs->Close(s.read_fd);
}

}  // namespace warren::store
