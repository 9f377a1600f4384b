// MessageLog's recovery: every segment streamed in order through the
// scanner; damaged records skipped, copied aside and reported.
#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>

#include "amqp/wire.h"
#include "broker/store/file_io.h"
#include "broker/store/message_log.h"
#include "common/log.h"

namespace warren::store {

namespace {

// Log lines for damaged ranges, per start; the summary counts them all.
constexpr size_t kDamageLines = 100;

// Segment file names: 20 decimal digits, ".seg".
bool ParseSegmentName(const std::string& name, uint32_t& number) {
  if (name.size() != 24 || name.compare(20, 4, ".seg") != 0) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  if (v == 0 || v > UINT32_MAX) return false;
  number = static_cast<uint32_t>(v);
  return true;
}

std::string FileName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

Status MessageLog::Recover(const Replay& replay) {
  std::vector<std::string> names;
  if (fs_.List(options_.dir, names) != 0)
    return IoError(options_.dir + ": " + std::strerror(errno));
  std::vector<uint32_t> numbers;
  for (const std::string& name : names) {
    uint32_t n;
    if (ParseSegmentName(name, n)) numbers.push_back(n);
  }
  std::sort(numbers.begin(), numbers.end());
  for (size_t i = 0; i < numbers.size(); ++i) {
    if (Status s = RecoverSegment(numbers[i], i + 1 == numbers.size(), replay); !s.ok()) return s;
    current_ = numbers[i];
  }
  return Status::Ok();
}

Status MessageLog::RecoverSegment(uint32_t number, bool newest, const Replay& replay) {
  std::string path = PathOf(number);
  Segment& seg = segments_[number];
  auto record = [&](uint8_t type, std::string_view payload, uint64_t offset) {
    amqp::Reader r(payload);
    if (type == static_cast<uint8_t>(LogRecord::kPublish)) {
      PublishHeader h;
      if (!DecodePublishHeader(r, h)) return;
      next_id_ = std::max(next_id_, h.id + 1);
      if (h.queues.empty()) return;  // a page-out copy: not kept across restarts
      r.ShortStr();
      r.ShortStr();
      r.LongStr();
      if (!r.ok()) return;
      PublishInfo info;
      info.ref = core::DiskRef{h.id, number, static_cast<uint32_t>(offset),
                               static_cast<uint32_t>(seg.framing.header() + payload.size())};
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
  };
  // seg.framing is set from the file header before the first record.
  auto scan = ScanFile(fs_, path, FileKind::kSegment, false, record, &seg.framing);
  if (!scan.ok()) return scan.error();
  for (const Damage& d : scan.value().damage)
    if (!KeepDamage(number, newest, d)) seg.keep = true;
  return Status::Ok();
}

// Copies a damaged range aside and says what was lost. Only the newest
// segment's tail (its last write, cut short) is then cut off. false: no
// copy could be made, so the segment itself must be kept.
bool MessageLog::KeepDamage(uint32_t number, bool newest, const Damage& d) {
  std::string path = PathOf(number);
  if (d.end != Damage::kResynced && AllZero(fs_, path, d.offset, d.length)) {
    // The file system extended the file before a crash; Warren wrote none of it.
    report_.torn_bytes += d.length;
    if (newest && fs_.Truncate(path, static_cast<off_t>(d.offset)) != 0)
      spdlog::warn("store: cannot cut off the zero-filled tail of {}: {}", path,
                   std::strerror(errno));
    spdlog::warn("store: segment {}: {} zero bytes at its end (offset {}), left by a crash "
                 "before data reached the disk{}", number, d.length, d.offset,
                 newest ? "; cut off" : "");
    return true;
  }
  bool torn = newest && d.end == Damage::kEndOfFile;
  auto copy = KeepCopy(fs_, path, d.offset, d.length, options_.damaged_dir, FileName(path));
  bool say = report_.damaged_ranges + (torn ? 1 : 0) < kDamageLines;
  if (!copy.ok()) {
    spdlog::error("store: segment {}: {} damaged bytes at offset {} ({}), and no copy of them "
                  "could be kept ({}): the segment is kept as it is", number, d.length, d.offset,
                  d.why, copy.error().text);
  }
  if (torn) {
    report_.torn_bytes += d.length;
    if (!copy.ok()) return false;
    if (fs_.Truncate(path, static_cast<off_t>(d.offset)) != 0)
      spdlog::warn("store: cannot cut off the torn tail of {}: {}", path, std::strerror(errno));
    else if (say)
      spdlog::warn("store: segment {}: its last write was cut short ({}, {} bytes at offset {}); "
                   "cut off, a copy is at {}", number, d.why, d.length, d.offset, copy.value());
    return true;
  }
  ++report_.damaged_ranges;
  report_.damaged_bytes += d.length;
  report_.damaged_records += d.records;
  if (say && copy.ok()) {
    const char* rest = d.end != Damage::kGaveUp
                           ? ""
                           : "; the rest of a segment written before per-segment salts cannot be "
                             "told apart from message bodies once damaged, so it was not read";
    spdlog::warn("store: segment {}: lost at least {} record{} ({} bytes at offset {}, {}){}; a "
                 "copy is at {}", number, d.records, d.records == 1 ? "" : "s", d.length,
                 d.offset, d.why, rest, copy.value());
  }
  return copy.ok();
}

}  // namespace warren::store
