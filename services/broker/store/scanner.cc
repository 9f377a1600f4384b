#include "broker/store/scanner.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "broker/store/file_io.h"

namespace warren::store {

namespace {

constexpr size_t kChunk = 1 << 20;
constexpr uint64_t kLegacyResyncWork = 256ull << 20;

}  // namespace

RecordScanner::RecordScanner(FileSystem& fs, int fd, uint64_t size, uint64_t start,
                             const Framing& f, bool resync)
    : fs_(fs), fd_(fd), size_(size), framing_(f), resync_(resync), pos_(start), good_end_(start) {}

bool RecordScanner::Load(uint64_t offset, size_t n) {
  if (offset >= buf_offset_ && offset + n <= buf_offset_ + buf_.size()) return true;
  size_t keep = 0;
  if (offset >= buf_offset_ && offset < buf_offset_ + buf_.size()) {
    keep = static_cast<size_t>(buf_offset_ + buf_.size() - offset);
    std::memmove(buf_.data(), buf_.data() + (offset - buf_offset_), keep);
  }
  size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(n, kChunk), size_ - offset));
  buf_.resize(want);
  buf_offset_ = offset;
  while (keep < want) {
    ssize_t got =
        fs_.Pread(fd_, buf_.data() + keep, want - keep, static_cast<off_t>(offset + keep));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      error_ = got < 0 ? std::strerror(errno) : "the file shrank while it was read";
      buf_.resize(keep);
      return false;
    }
    keep += static_cast<size_t>(got);
  }
  return true;
}

RecordParse RecordScanner::ParseAt(uint64_t offset, uint8_t& type, std::string_view& payload,
                                   size_t& consumed) {
  uint64_t left = size_ - offset;
  size_t header = framing_.header();
  size_t head = static_cast<size_t>(std::min<uint64_t>(header, left));
  if (!Load(offset, head)) return RecordParse::kCorrupt;
  RecordParse r = ParseRecord(View(offset, head), framing_, type, payload, consumed);
  if (r != RecordParse::kNeedMore || head < header) return r;
  uint64_t whole = header + uint64_t{ClaimedLength(View(offset, header), framing_)};
  if (whole > left) return RecordParse::kNeedMore;  // runs past the end: torn
  if (!framing_.salted() && offset != pos_) legacy_work_ += whole;
  if (!Load(offset, static_cast<size_t>(whole))) return RecordParse::kCorrupt;
  return ParseRecord(View(offset, static_cast<size_t>(whole)), framing_, type, payload, consumed);
}

bool RecordScanner::Next(uint8_t& type, std::string_view& payload, uint64_t& offset) {
  while (pos_ < size_ && error_.empty()) {
    size_t consumed = 0;
    RecordParse r = ParseAt(pos_, type, payload, consumed);
    if (!error_.empty()) return false;
    if (r == RecordParse::kOk) {
      offset = pos_;
      pos_ += consumed;
      good_end_ = pos_;
      return true;
    }
    Damage d;
    d.offset = pos_;
    d.why = r == RecordParse::kNeedMore ? "torn record" : "bad checksum";
    uint64_t markers = 0;
    if (framing_.salted() && size_ - pos_ >= 4) {
      uint32_t m;
      std::memcpy(&m, View(pos_, 4).data(), 4);
      markers = m == framing_.marker() ? 1 : 0;
    }
    uint64_t next = resync_ ? Resync(pos_ + 1, markers) : size_;
    if (!error_.empty()) return false;
    d.length = next - pos_;
    d.records = std::max<uint64_t>(markers, 1);
    d.end = next < size_           ? Damage::kResynced
            : resync_ && !gave_up_ ? Damage::kEndOfFile
                                   : Damage::kGaveUp;
    damage_.push_back(std::move(d));
    pos_ = next;
  }
  return false;
}

uint64_t RecordScanner::FindMarker(uint64_t from) {
  uint32_t marker = framing_.marker();
  char needle[4];
  std::memcpy(needle, &marker, 4);
  while (from + 4 <= size_) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, size_ - from));
    if (!Load(from, n)) return size_;
    std::string_view hay = View(from, n);
    size_t hit = hay.find(std::string_view(needle, 4));
    if (hit != std::string_view::npos) return from + hit;
    if (from + n >= size_) break;
    from += n - 3;  // a marker may straddle two chunks
  }
  return size_;
}

uint64_t RecordScanner::Resync(uint64_t from, uint64_t& markers) {
  uint8_t type;
  std::string_view payload;
  size_t consumed;
  for (uint64_t at = from; at < size_ && error_.empty(); ++at) {
    if (framing_.salted()) {
      at = FindMarker(at);
      if (at >= size_) break;
    }
    if (ParseAt(at, type, payload, consumed) == RecordParse::kOk) return at;
    if (framing_.salted()) ++markers;
    if (legacy_work_ > kLegacyResyncWork) {
      gave_up_ = true;
      break;
    }
  }
  return size_;
}

Result<ScanResult> ScanFile(FileSystem& fs, const std::string& path, FileKind kind,
                            bool legacy_resync, const RecordFn& fn, Framing* framing) {
  ScanResult result;
  int fd = fs.Open(path, O_RDONLY);
  if (fd < 0) {
    if (errno != ENOENT) return IoError(path + ": " + std::strerror(errno));
    result.exists = false;
    return result;
  }
  struct stat st {};
  if (fs.Fstat(fd, &st) != 0) {
    Error e = IoError(path + ": " + std::strerror(errno));
    fs.Close(fd);
    return e;
  }
  result.size = static_cast<uint64_t>(st.st_size);
  std::string head(static_cast<size_t>(std::min<uint64_t>(kFileHeader, result.size)), '\0');
  Status read = PreadAll(fs, fd, head, 0);
  result.header = read.ok() ? ParseFileHeader(head, kind, result.framing) : HeaderState::kLegacy;
  if (read.ok() && result.header == HeaderState::kDamaged) {
    Damage d;
    d.length = result.size;
    d.end = result.size < kFileHeader ? Damage::kEndOfFile : Damage::kGaveUp;
    d.why = result.size < kFileHeader ? "torn file header" : "unreadable file header";
    result.damage.push_back(std::move(d));
    fs.Close(fd);
    return result;
  }
  if (framing) *framing = result.framing;
  RecordScanner scan(fs, fd, result.size, result.framing.data_start(), result.framing,
                     result.framing.salted() || legacy_resync);
  uint8_t type;
  std::string_view payload;
  uint64_t offset;
  if (read.ok())
    while (scan.Next(type, payload, offset)) fn(type, payload, offset);
  fs.Close(fd);
  if (!read.ok()) return IoError(path + ": " + read.error().text);
  if (!scan.error().empty()) return IoError(path + ": " + scan.error());
  result.good_end = scan.good_end();
  result.damage = scan.damage();
  return result;
}

}  // namespace warren::store
