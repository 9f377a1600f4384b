// The framing every store file uses: one record is
//
//   u32 crc | u32 length | u8 type | payload (length octets)
//
// little-endian, the CRC-32 (zlib's) covering length, type and payload. A
// reader stops at the first record that is incomplete (a torn write) or whose
// CRC does not match (corruption); what lies before it is intact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace warren::store {

inline constexpr size_t kRecordHeader = 9;
// Larger than any message Warren accepts (amqp.max_message_size ≤ 512 MiB).
inline constexpr uint32_t kMaxRecordPayload = 1u << 30;

// Starts a record of `type` at the end of `out`; the caller appends the
// payload, then FinishRecord(out, at) fills in length and CRC.
size_t BeginRecord(std::string& out, uint8_t type);
void FinishRecord(std::string& out, size_t at);

enum class RecordParse { kOk, kNeedMore, kCorrupt };

// Parses the record at the start of `in`. kNeedMore: `in` ends inside it.
RecordParse ParseRecord(std::string_view in, uint8_t& type, std::string_view& payload,
                        size_t& consumed);

}  // namespace warren::store
