// The framing every store file uses (definitions.log and the message log's
// segments). A file starts with a 64-byte header, two copies of
//
//   magic "\x89WARREN\n" | u16 version (2) | u8 kind ('S' segment,
//   'D' definitions, 'R' the cluster's Raft log) | u8 0 | u32 0 | u64 salt |
//   u32 crc | u32 0
//
// (the CRC covering the 24 bytes before it), then records
//
//   u32 marker | u32 crc | u32 length | u8 type | payload (length octets)
//
// little-endian. The salt is random, drawn when the file is made; the marker
// is its low 32 bits and the CRC-32 (zlib's) covers the salt, length, type
// and payload. A reader that lost its place (a damaged record) looks for the
// next offset holding the marker and a record whose CRC matches: without the
// salt, which never leaves the disk, nobody can write bytes that pass for a
// record, so a message body or queue argument cannot be mistaken for records
// (services/broker/store/README.md, "Damage").
//
// Files written before salts (version 1) have no header and records of
//   u32 crc | u32 length | u8 type | payload
// They are still read (Framing::Legacy()), never written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace warren::store {

inline constexpr size_t kFileHeader = 64;
// Larger than any message Warren accepts (amqp.max_message_size ≤ 512 MiB).
inline constexpr uint32_t kMaxRecordPayload = 1u << 30;

enum class FileKind : uint8_t { kSegment = 'S', kDefinitions = 'D', kRaft = 'R' };

// How the records of one file are framed.
class Framing {
 public:
  static Framing Legacy();
  static Framing Salted(uint64_t salt);
  // Salted, with a salt from the kernel's random source.
  static Framing Random();

  bool salted() const { return salted_; }
  uint64_t salt() const { return salt_; }
  // Bytes before a record's payload: 13 (salted) or 9 (legacy).
  size_t header() const { return salted_ ? 13 : 9; }
  uint32_t marker() const { return static_cast<uint32_t>(salt_); }
  // Where a file's first record starts.
  size_t data_start() const { return salted_ ? kFileHeader : 0; }

 private:
  bool salted_ = false;
  uint64_t salt_ = 0;
  uint32_t crc_seed_ = 0;  // the CRC of the salt: where every record's CRC starts
  friend uint32_t RecordCrc(const Framing&, const char*, size_t);
};

// The 64-byte header of a new file of `kind` framed by `f` (salted).
std::string FileHeader(FileKind kind, const Framing& f);

enum class HeaderState {
  kSalted,   // a header (either copy) is intact: `f` is the file's framing
  kLegacy,   // no header: a file from before salts
  kDamaged,  // a header was written but neither copy is intact (or it is torn)
};
// Reads the header from `head`, the file's first min(64, size) bytes.
HeaderState ParseFileHeader(std::string_view head, FileKind kind, Framing& f);

// Starts a record of `type` at the end of `out`; the caller appends the
// payload, then FinishRecord(out, f, at) fills in length and CRC.
size_t BeginRecord(std::string& out, const Framing& f, uint8_t type);
void FinishRecord(std::string& out, const Framing& f, size_t at);
// One whole record.
std::string MakeRecord(const Framing& f, uint8_t type, std::string_view payload);

enum class RecordParse { kOk, kNeedMore, kCorrupt };

// Parses the record at the start of `in`. kNeedMore: `in` ends inside it
// (its header, or the length its header claims); kCorrupt: not a record.
RecordParse ParseRecord(std::string_view in, const Framing& f, uint8_t& type,
                        std::string_view& payload, size_t& consumed);
// The payload length a record header at the start of `in` claims (`in`
// holds at least f.header() bytes).
uint32_t ClaimedLength(std::string_view in, const Framing& f);

}  // namespace warren::store
