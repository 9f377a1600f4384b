#include "broker/store/record.h"

#include <zlib.h>

#include <cstring>

namespace warren::store {

namespace {

uint32_t Crc(const char* data, size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    uInt chunk = n > (1u << 30) ? (1u << 30) : static_cast<uInt>(n);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), chunk);
    data += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

size_t BeginRecord(std::string& out, uint8_t type) {
  size_t at = out.size();
  out.append(kRecordHeader - 1, '\0');
  out.push_back(static_cast<char>(type));
  return at;
}

void FinishRecord(std::string& out, size_t at) {
  uint32_t length = static_cast<uint32_t>(out.size() - at - kRecordHeader);
  std::memcpy(&out[at + 4], &length, 4);
  uint32_t crc = Crc(out.data() + at + 4, out.size() - at - 4);
  std::memcpy(&out[at], &crc, 4);
}

RecordParse ParseRecord(std::string_view in, uint8_t& type, std::string_view& payload,
                        size_t& consumed) {
  if (in.size() < kRecordHeader) return RecordParse::kNeedMore;
  uint32_t crc, length;
  std::memcpy(&crc, in.data(), 4);
  std::memcpy(&length, in.data() + 4, 4);
  if (length > kMaxRecordPayload) return RecordParse::kCorrupt;
  if (in.size() - kRecordHeader < length) return RecordParse::kNeedMore;
  if (Crc(in.data() + 4, size_t{length} + 5) != crc) return RecordParse::kCorrupt;
  type = static_cast<uint8_t>(in[8]);
  if (type == 0) return RecordParse::kCorrupt;
  payload = in.substr(kRecordHeader, length);
  consumed = kRecordHeader + length;
  return RecordParse::kOk;
}

}  // namespace warren::store
