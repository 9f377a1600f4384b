// Big-endian primitives for the AMQP 0-9-1 wire format (spec 4.2.5, "Field
// formats"). Writer appends to a std::string; Reader walks a string_view and
// latches a failure flag instead of throwing, so hostile input never reads out
// of bounds and never unwinds through the data path.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace warren::amqp {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U16(uint16_t v) {
    char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
    out_.append(b, 2);
  }
  void U32(uint32_t v) {
    char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                 static_cast<char>(v >> 8), static_cast<char>(v)};
    out_.append(b, 4);
  }
  void U64(uint64_t v) {
    U32(static_cast<uint32_t>(v >> 32));
    U32(static_cast<uint32_t>(v));
  }
  void Bytes(std::string_view s) { out_.append(s); }
  // A short string longer than 255 bytes is truncated; callers validate
  // lengths of names they accept, so only server-made text can hit this.
  void ShortStr(std::string_view s) {
    size_t n = s.size() > 255 ? 255 : s.size();
    U8(static_cast<uint8_t>(n));
    out_.append(s.data(), n);
  }
  void LongStr(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  size_t size() const { return out_.size(); }
  // Overwrites a 32-bit length written earlier at `at`.
  void PatchU32(size_t at, uint32_t v) {
    out_[at] = static_cast<char>(v >> 24);
    out_[at + 1] = static_cast<char>(v >> 16);
    out_[at + 2] = static_cast<char>(v >> 8);
    out_[at + 3] = static_cast<char>(v);
  }
  std::string& buffer() { return out_; }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  bool empty() const { return pos_ >= in_.size(); }
  size_t remaining() const { return in_.size() - pos_; }
  void Fail() { ok_ = false; pos_ = in_.size(); }

  uint8_t U8() {
    if (!Need(1)) return 0;
    return static_cast<uint8_t>(in_[pos_++]);
  }
  uint16_t U16() {
    if (!Need(2)) return 0;
    uint16_t v = static_cast<uint16_t>((Byte(0) << 8) | Byte(1));
    pos_ += 2;
    return v;
  }
  uint32_t U32() {
    if (!Need(4)) return 0;
    uint32_t v = (uint32_t{Byte(0)} << 24) | (uint32_t{Byte(1)} << 16) |
                 (uint32_t{Byte(2)} << 8) | uint32_t{Byte(3)};
    pos_ += 4;
    return v;
  }
  uint64_t U64() {
    uint64_t hi = U32();
    return (hi << 32) | U32();
  }
  std::string_view Bytes(size_t n) {
    if (!Need(n)) return {};
    std::string_view v = in_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  std::string_view ShortStr() { return Bytes(U8()); }
  std::string_view LongStr() {
    uint32_t n = U32();
    return Bytes(n);
  }

 private:
  bool Need(size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      Fail();
      return false;
    }
    return true;
  }
  uint8_t Byte(size_t i) const { return static_cast<uint8_t>(in_[pos_ + i]); }

  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace warren::amqp
