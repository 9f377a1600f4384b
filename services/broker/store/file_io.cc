#include "broker/store/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "broker/store/record.h"

namespace warren::store {

Status WriteAll(FileSystem& fs, int fd, std::string_view data, size_t* written) {
  size_t done = 0;
  Status result = Status::Ok();
  while (done < data.size()) {
    ssize_t n = fs.Write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      result = IoError(std::strerror(errno));
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (written) *written = done;
  return result;
}

Status SyncDirectory(FileSystem& fs, const std::string& dir) {
  int fd = fs.Open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return IoError(dir + ": " + std::strerror(errno));
  fs.Fsync(fd);
  fs.Close(fd);
  return Status::Ok();
}

Result<ScanResult> ScanFile(FileSystem& fs, const std::string& path, const RecordFn& fn) {
  ScanResult result;
  int fd = fs.Open(path, O_RDONLY);
  if (fd < 0) {
    if (errno != ENOENT) return IoError(path + ": " + std::strerror(errno));
    result.exists = false;
    return result;
  }
  struct stat st {};
  fs.Fstat(fd, &st);
  RecordScanner scan(fs, fd, static_cast<uint64_t>(st.st_size));
  uint8_t type;
  std::string_view payload;
  uint64_t offset;
  while (scan.Next(type, payload, offset)) fn(type, payload, offset);
  fs.Close(fd);
  result.good_end = scan.good_end();
  result.dropped = scan.dropped();
  result.why = scan.why().empty() && result.dropped > 0 ? "damage" : scan.why();
  return result;
}

bool RecordScanner::Fill(size_t want) {
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    buf_offset_ += pos_;
    pos_ = 0;
  }
  constexpr size_t kChunk = 1 << 20;
  while (!eof_ && buf_.size() < want) {
    size_t old = buf_.size();
    buf_.resize(old + std::max(kChunk, want - old));
    ssize_t n = fs_.Read(fd_, buf_.data() + old, buf_.size() - old);
    if (n < 0 && errno == EINTR) {
      buf_.resize(old);
      continue;
    }
    if (n < 0) {
      buf_.resize(old);
      why_ = "read error";
      eof_ = true;
      return false;
    }
    buf_.resize(old + static_cast<size_t>(n));
    if (n == 0) eof_ = true;
  }
  return buf_.size() >= want;
}

bool RecordScanner::Next(uint8_t& type, std::string_view& payload, uint64_t& offset) {
  size_t want = kRecordHeader;
  for (;;) {
    std::string_view rest(buf_.data() + pos_, buf_.size() - pos_);
    size_t consumed = 0;
    RecordParse r = rest.size() >= want ? ParseRecord(rest, type, payload, consumed)
                                        : RecordParse::kNeedMore;
    if (r == RecordParse::kOk) {
      offset = buf_offset_ + pos_;
      pos_ += consumed;
      good_end_ = buf_offset_ + pos_;
      return true;
    }
    if (r == RecordParse::kCorrupt) {
      why_ = "bad checksum";
      return false;
    }
    // Need more: the header says how long the record is.
    if (rest.size() >= kRecordHeader) {
      uint32_t length;
      std::memcpy(&length, rest.data() + 4, 4);
      want = kRecordHeader + length;
    }
    if (buf_offset_ + pos_ + want > file_end_) {  // runs past the end: torn
      if (buf_offset_ + pos_ < file_end_) why_ = "torn record";
      return false;
    }
    if (!Fill(want)) {
      if (buf_.size() > pos_ && why_.empty()) why_ = "torn record";
      return false;
    }
  }
}

}  // namespace warren::store
