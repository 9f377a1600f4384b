#include "broker/store/record.h"

#include <sys/random.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace warren::store {

namespace {

constexpr char kMagic[8] = {'\x89', 'W', 'A', 'R', 'R', 'E', 'N', '\n'};
constexpr uint16_t kVersion = 2;
constexpr size_t kHeaderCopy = 32;

uint32_t Crc(uint32_t crc, const char* data, size_t n) {
  uLong c = crc;
  while (n > 0) {
    uInt chunk = n > (1u << 30) ? (1u << 30) : static_cast<uInt>(n);
    c = crc32(c, reinterpret_cast<const Bytef*>(data), chunk);
    data += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(c);
}

uint32_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void Store32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }

// One copy of the header is intact: magic, version, kind, CRC.
bool ParseCopy(std::string_view copy, FileKind kind, uint64_t& salt) {
  if (copy.size() < kHeaderCopy || std::memcmp(copy.data(), kMagic, 8) != 0) return false;
  uint16_t version;
  std::memcpy(&version, copy.data() + 8, 2);
  if (version != kVersion || static_cast<uint8_t>(copy[10]) != static_cast<uint8_t>(kind))
    return false;
  if (Crc(0, copy.data(), 24) != Load32(copy.data() + 24)) return false;
  std::memcpy(&salt, copy.data() + 16, 8);
  return true;
}

}  // namespace

uint32_t RecordCrc(const Framing& f, const char* data, size_t n) {
  return Crc(f.crc_seed_, data, n);
}

Framing Framing::Legacy() { return Framing(); }

Framing Framing::Salted(uint64_t salt) {
  Framing f;
  f.salted_ = true;
  f.salt_ = salt;
  char bytes[8];
  std::memcpy(bytes, &salt, 8);
  f.crc_seed_ = Crc(0, bytes, 8);
  return f;
}

Framing Framing::Random() {
  uint64_t salt = 0;
  size_t got = 0;
  auto* p = reinterpret_cast<char*>(&salt);
  while (got < sizeof salt) {
    ssize_t n = getrandom(p + got, sizeof salt - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (got < sizeof salt) salt = (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  return Salted(salt);
}

std::string FileHeader(FileKind kind, const Framing& f) {
  std::string copy(kHeaderCopy, '\0');
  std::memcpy(copy.data(), kMagic, 8);
  std::memcpy(copy.data() + 8, &kVersion, 2);
  copy[10] = static_cast<char>(kind);
  uint64_t salt = f.salt();
  std::memcpy(copy.data() + 16, &salt, 8);
  Store32(copy.data() + 24, Crc(0, copy.data(), 24));
  return copy + copy;
}

HeaderState ParseFileHeader(std::string_view head, FileKind kind, Framing& f) {
  uint64_t salt;
  if (ParseCopy(head.substr(0, kHeaderCopy), kind, salt) ||
      (head.size() >= kFileHeader && ParseCopy(head.substr(kHeaderCopy), kind, salt))) {
    f = Framing::Salted(salt);
    return head.size() >= kFileHeader ? HeaderState::kSalted : HeaderState::kDamaged;
  }
  size_t n = std::min(head.size(), sizeof kMagic);
  bool magic = n > 0 && std::memcmp(head.data(), kMagic, n) == 0;
  bool second = head.size() >= kHeaderCopy + 8 &&
                std::memcmp(head.data() + kHeaderCopy, kMagic, 8) == 0;
  f = Framing::Legacy();
  return magic || second ? HeaderState::kDamaged : HeaderState::kLegacy;
}

size_t BeginRecord(std::string& out, const Framing& f, uint8_t type) {
  size_t at = out.size();
  out.append(f.header() - 1, '\0');
  if (f.salted()) Store32(&out[at], f.marker());
  out.push_back(static_cast<char>(type));
  return at;
}

void FinishRecord(std::string& out, const Framing& f, size_t at) {
  size_t crc_at = at + (f.salted() ? 4 : 0);
  uint32_t length = static_cast<uint32_t>(out.size() - at - f.header());
  Store32(&out[crc_at + 4], length);
  Store32(&out[crc_at], RecordCrc(f, out.data() + crc_at + 4, out.size() - crc_at - 4));
}

std::string MakeRecord(const Framing& f, uint8_t type, std::string_view payload) {
  std::string out;
  size_t at = BeginRecord(out, f, type);
  out += payload;
  FinishRecord(out, f, at);
  return out;
}

uint32_t ClaimedLength(std::string_view in, const Framing& f) {
  return Load32(in.data() + f.header() - 5);
}

RecordParse ParseRecord(std::string_view in, const Framing& f, uint8_t& type,
                        std::string_view& payload, size_t& consumed) {
  size_t header = f.header();
  if (f.salted() && in.size() >= 4 && Load32(in.data()) != f.marker()) return RecordParse::kCorrupt;
  if (in.size() < header) return RecordParse::kNeedMore;
  size_t crc_at = header - 9;
  uint32_t crc = Load32(in.data() + crc_at);
  uint32_t length = Load32(in.data() + crc_at + 4);
  if (length > kMaxRecordPayload) return RecordParse::kCorrupt;
  if (in.size() - header < length) return RecordParse::kNeedMore;
  if (RecordCrc(f, in.data() + crc_at + 4, size_t{length} + 5) != crc) return RecordParse::kCorrupt;
  type = static_cast<uint8_t>(in[header - 1]);
  if (type == 0) return RecordParse::kCorrupt;
  payload = in.substr(header, length);
  consumed = header + length;
  return RecordParse::kOk;
}

}  // namespace warren::store
