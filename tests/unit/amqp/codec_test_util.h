// Helpers shared by the codec tests: hand-written byte strings and a hex dump
// for failure messages. Golden bytes are spelled out in the tests themselves;
// the big-endian helpers here are written independently of amqp/wire.h so a
// bug there cannot cancel out in both the expectation and the result.
#pragma once

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>

namespace warren::amqp::test {

inline std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

inline std::string Be16(uint16_t v) { return Bytes({v >> 8, v & 0xFF}); }
inline std::string Be32(uint32_t v) {
  return Bytes({static_cast<int>(v >> 24), static_cast<int>((v >> 16) & 0xFF),
                static_cast<int>((v >> 8) & 0xFF), static_cast<int>(v & 0xFF)});
}
inline std::string Be64(uint64_t v) {
  return Be32(static_cast<uint32_t>(v >> 32)) + Be32(static_cast<uint32_t>(v));
}

// type, channel, size, payload, frame-end (spec 4.2.3), built by hand.
inline std::string RawFrame(uint8_t type, uint16_t channel, std::string_view payload,
                            uint8_t end = 0xCE) {
  return std::string(1, static_cast<char>(type)) + Be16(channel) +
         Be32(static_cast<uint32_t>(payload.size())) + std::string(payload) +
         std::string(1, static_cast<char>(end));
}

inline std::string Hex(std::string_view s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof buf, "%02X ", c);
    out += buf;
  }
  return out;
}

}  // namespace warren::amqp::test
