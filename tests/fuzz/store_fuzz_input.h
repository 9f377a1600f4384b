// How the store's fuzzers turn their input into a file, shared by both
// targets and their seed generator. Byte 0 picks a mode (mod 4):
//   0  the rest is the file, byte for byte (the scanner, resynchronisation,
//      headers, torn and damaged files);
//   1  the rest is records, each [u8 type][u16 length, little-endian]
//      [payload], written with a file header and salted framing, so every
//      record passes its CRC and the decoders behind it are reached;
//   2  the same records in the old, unsalted framing;
//   3  a u16 (little-endian) then records as in mode 1; the file is cut to
//      that u16 modulo its size plus one (torn tails).
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "broker/store/record.h"

namespace warren::store::fuzz {

inline constexpr uint64_t kSalt = 0x5eed5eed5eed5eedull;

inline std::string FrameRecords(const uint8_t* data, size_t size, const Framing& f,
                                FileKind kind) {
  std::string out = f.salted() ? FileHeader(kind, f) : std::string();
  size_t i = 0;
  while (i + 3 <= size) {
    uint8_t type = data[i];
    size_t length = data[i + 1] | (size_t{data[i + 2]} << 8);
    i += 3;
    length = std::min(length, size - i);
    out += MakeRecord(f, type, std::string_view(reinterpret_cast<const char*>(data + i), length));
    i += length;
  }
  return out;
}

inline std::string BuildFile(const uint8_t* data, size_t size, FileKind kind) {
  if (size == 0) return {};
  const uint8_t* rest = data + 1;
  size_t n = size - 1;
  switch (data[0] % 4) {
    case 0: return std::string(reinterpret_cast<const char*>(rest), n);
    case 1: return FrameRecords(rest, n, Framing::Salted(kSalt), kind);
    case 2: return FrameRecords(rest, n, Framing::Legacy(), kind);
    default: {
      if (n < 2) return {};
      size_t cut = rest[0] | (size_t{rest[1]} << 8);
      std::string file = FrameRecords(rest + 2, n - 2, Framing::Salted(kSalt), kind);
      file.resize(cut % (file.size() + 1));
      return file;
    }
  }
}

// Empties `dir` and writes what BuildFile makes of the input as `file`
// inside it: each run starts from a data directory holding only that file.
inline void PlaceFile(const std::filesystem::path& dir, const std::filesystem::path& file,
                      const uint8_t* data, size_t size, FileKind kind) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(file.parent_path());
  std::ofstream f(file, std::ios::binary);
  std::string bytes = BuildFile(data, size, kind);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A mode-1 input holding `records` (for seeds).
inline std::string FramedInput(const std::vector<std::pair<uint8_t, std::string>>& records) {
  std::string out(1, '\1');
  for (const auto& [type, payload] : records) {
    size_t length = std::min<size_t>(payload.size(), 0xffff);
    out += static_cast<char>(type);
    out += static_cast<char>(length & 0xff);
    out += static_cast<char>(length >> 8);
    out.append(payload, 0, length);
  }
  return out;
}

}  // namespace warren::store::fuzz
