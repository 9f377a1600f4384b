// Small file helpers for the store: whole writes, the record scanner that
// recovery streams files through, and directory fsync.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "broker/store/file_system.h"
#include "common/status.h"

namespace warren::store {

// A failed file operation (541 INTERNAL_ERROR where it reaches a client).
inline Error IoError(std::string text) { return Error{541, std::move(text)}; }

// Writes all of `data` at the file's current offset; retries short writes.
// `written` (if given) says how much went out, also when it fails part way.
Status WriteAll(FileSystem& fs, int fd, std::string_view data, size_t* written = nullptr);
// Makes a rename or unlink in `dir` durable.
Status SyncDirectory(FileSystem& fs, const std::string& dir);

// Reads the records of one file in order, a chunk at a time, so that
// recovery never holds more than one chunk (or one record) in memory.
class RecordScanner {
 public:
  // Scans `fd` from its current offset (0) to `size`, the file's length.
  RecordScanner(FileSystem& fs, int fd, uint64_t size) : fs_(fs), fd_(fd), file_end_(size) {}
  // The next record; false at the end of the file or at damage.
  bool Next(uint8_t& type, std::string_view& payload, uint64_t& offset);
  // Offset just past the last intact record.
  uint64_t good_end() const { return good_end_; }
  // Bytes after good_end() (damage or a torn tail), once Next returned false.
  uint64_t dropped() const { return file_end_ - good_end_; }
  // Why the scan stopped early: "torn record", "bad checksum" or "read error".
  const std::string& why() const { return why_; }

 private:
  bool Fill(size_t want);

  FileSystem& fs_;
  int fd_;
  std::string buf_;
  size_t pos_ = 0;
  uint64_t buf_offset_ = 0;  // file offset of buf_[0]
  uint64_t good_end_ = 0;
  uint64_t file_end_;
  bool eof_ = false;
  std::string why_;
};

// How a whole-file scan ended: `dropped` bytes after `good_end` were not
// intact records (`why` says what was wrong), or none.
struct ScanResult {
  bool exists = true;
  uint64_t good_end = 0;
  uint64_t dropped = 0;
  std::string why;
};
using RecordFn = std::function<void(uint8_t type, std::string_view payload, uint64_t offset)>;
// Streams the intact records of the file at `path` to `fn`. A missing file
// is exists=false; any other failure to open it is an error.
Result<ScanResult> ScanFile(FileSystem& fs, const std::string& path, const RecordFn& fn);

}  // namespace warren::store
