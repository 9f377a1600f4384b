#include "raft/wire.h"

namespace warren::raft::wire {

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutBytes(std::string& out, std::string_view bytes) {
  PutVarint(out, bytes.size());
  out.append(bytes);
}

void Reader::Fail(const char* why) {
  if (why_ == nullptr) why_ = why;
  pos_ = in_.size();
}

uint8_t Reader::Byte() {
  if (!ok() || pos_ >= in_.size()) {
    Fail("truncated");
    return 0;
  }
  return static_cast<uint8_t>(in_[pos_++]);
}

uint64_t Reader::Varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint8_t b = Byte();
    if (!ok()) return 0;
    // The tenth byte may hold only the top bit of a 64-bit value.
    if (shift == 63 && b > 1) break;
    v |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) {
      if (b == 0 && shift > 0) break;  // a trailing zero byte: not the shortest form
      return v;
    }
  }
  Fail("bad varint");
  return 0;
}

std::string_view Reader::Bytes(size_t max) {
  uint64_t n = Varint();
  if (!ok()) return {};
  if (n > max || n > remaining()) {
    Fail(n > max ? "length past its bound" : "truncated");
    return {};
  }
  std::string_view v = in_.substr(pos_, n);
  pos_ += n;
  return v;
}

}  // namespace warren::raft::wire
