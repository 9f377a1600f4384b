// Reading a store file back at start: the record scanner recovery streams
// every file through. It skips damage: after a record that is torn or fails
// its CRC it looks for the next intact record (salted files only, see
// record.h; or legacy files when asked) and reports the bytes in between.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/store/file_system.h"
#include "broker/store/record.h"
#include "common/status.h"

namespace warren::store {

// A range of a file that holds no intact record.
struct Damage {
  enum End {
    kResynced,   // intact records follow it
    kEndOfFile,  // nothing intact follows it: the file's tail
    kGaveUp,     // the scan ended here: what follows was not looked at
  };
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t records = 1;  // records that began in it, as far as can be told
  End end = kEndOfFile;
  std::string why;       // "bad checksum", "torn record", "unreadable file header"
};

// Reads the records of one file in order, a chunk at a time, so that
// recovery never holds more than one chunk (or one record) in memory.
class RecordScanner {
 public:
  // Scans `fd` (`size` bytes, framed by `f`) from `start`. With `resync`,
  // damage is skipped up to the next intact record; without, the first
  // damage ends the scan (kGaveUp).
  RecordScanner(FileSystem& fs, int fd, uint64_t size, uint64_t start, const Framing& f,
                bool resync);
  // The next intact record (`payload` valid until the next call); false at
  // the end of the file or when a read failed (error()).
  bool Next(uint8_t& type, std::string_view& payload, uint64_t& offset);
  const std::vector<Damage>& damage() const { return damage_; }
  // Offset just past the last intact record (or the file header).
  uint64_t good_end() const { return good_end_; }
  // Why a read failed (empty if none did).
  const std::string& error() const { return error_; }

 private:
  // Makes [offset, offset + n) of the file available in buf_.
  bool Load(uint64_t offset, size_t n);
  std::string_view View(uint64_t offset, size_t n) const {
    return std::string_view(buf_).substr(offset - buf_offset_, n);
  }
  RecordParse ParseAt(uint64_t offset, uint8_t& type, std::string_view& payload, size_t& consumed);
  // The first offset from `from` on where an intact record starts (size_ if
  // none); counts in `markers` the record starts it passed that were damaged.
  uint64_t Resync(uint64_t from, uint64_t& markers);
  uint64_t FindMarker(uint64_t from);

  FileSystem& fs_;
  int fd_;
  uint64_t size_;
  Framing framing_;
  bool resync_;
  uint64_t pos_;
  uint64_t good_end_;
  std::string buf_;
  uint64_t buf_offset_ = 0;  // file offset of buf_[0]
  // Bytes parsed while resynchronising a legacy file: every offset is a
  // candidate there, so hostile content could make it quadratic; past a
  // bound the scan gives up (kGaveUp) instead.
  uint64_t legacy_work_ = 0;
  bool gave_up_ = false;
  std::vector<Damage> damage_;
  std::string error_;
};

// How a whole-file scan went.
struct ScanResult {
  bool exists = true;
  HeaderState header = HeaderState::kLegacy;
  Framing framing;
  uint64_t size = 0;
  uint64_t good_end = 0;
  std::vector<Damage> damage;
};
using RecordFn = std::function<void(uint8_t type, std::string_view payload, uint64_t offset)>;
// Streams the intact records of the file at `path` to `fn`. Damage in
// salted files is skipped; in legacy ones only with `legacy_resync`. A
// missing file is exists=false; a file that cannot be opened or read is an
// error (nothing is skipped for being unreadable). `framing` (if given) is
// set from the file header before the first record reaches `fn`.
Result<ScanResult> ScanFile(FileSystem& fs, const std::string& path, FileKind kind,
                            bool legacy_resync, const RecordFn& fn, Framing* framing = nullptr);

}  // namespace warren::store
