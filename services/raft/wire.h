// The codec's primitives: unsigned LEB128 varints and length-prefixed bytes.
// Only the canonical (shortest) varint is accepted, so whatever decodes
// encodes back to the same bytes. The Reader stops at the first failure and
// keeps its reason; it never reads past its input and never throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace warren::raft::wire {

void PutVarint(std::string& out, uint64_t v);
void PutBytes(std::string& out, std::string_view bytes);  // varint length, then the bytes

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool ok() const { return why_ == nullptr; }
  const char* why() const { return why_; }
  size_t remaining() const { return in_.size() - pos_; }
  // Latches the first failure; later reads return zeroes.
  void Fail(const char* why);

  uint8_t Byte();
  uint64_t Varint();
  // A length-prefixed byte string of at most `max` bytes.
  std::string_view Bytes(size_t max);

 private:
  std::string_view in_;
  size_t pos_ = 0;
  const char* why_ = nullptr;
};

}  // namespace warren::raft::wire
