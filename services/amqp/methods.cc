#include "amqp/methods.h"

#include "amqp/frame.h"
#include "amqp/wire.h"

namespace warren::amqp {

namespace {

// Writes fields in order, packing runs of bits into octets (spec 4.2.5.2).
class FieldWriter {
 public:
  explicit FieldWriter(std::string& out) : out_(out), w_(out) {}

  template <FieldKind K, class T>
  void Field(const T& f) {
    if constexpr (K == FieldKind::kBit) {
      if (bit_ == 8 || bit_pos_ == std::string::npos) {
        bit_pos_ = out_.size();
        w_.U8(0);
        bit_ = 0;
      }
      if (f) out_[bit_pos_] = static_cast<char>(out_[bit_pos_] | (1 << bit_));
      ++bit_;
      return;
    } else {
      bit_pos_ = std::string::npos;
      if constexpr (K == FieldKind::kOctet) w_.U8(f);
      else if constexpr (K == FieldKind::kShort) w_.U16(f);
      else if constexpr (K == FieldKind::kLong) w_.U32(f);
      else if constexpr (K == FieldKind::kLongLong || K == FieldKind::kTimestamp) w_.U64(f);
      else if constexpr (K == FieldKind::kShortStr) w_.ShortStr(f);
      else if constexpr (K == FieldKind::kLongStr) w_.LongStr(f);
      else if constexpr (K == FieldKind::kTable) EncodeTable(f, out_);
    }
  }

 private:
  std::string& out_;
  Writer w_;
  size_t bit_pos_ = std::string::npos;
  int bit_ = 0;
};

class FieldReader {
 public:
  explicit FieldReader(Reader& r) : r_(r) {}

  template <FieldKind K, class T>
  void Field(T& f) {
    if constexpr (K == FieldKind::kBit) {
      if (bit_ == 8 || bit_ < 0) {
        bits_ = r_.U8();
        bit_ = 0;
      }
      f = (bits_ >> bit_) & 1;
      ++bit_;
      return;
    } else {
      bit_ = -1;
      if constexpr (K == FieldKind::kOctet) f = r_.U8();
      else if constexpr (K == FieldKind::kShort) f = r_.U16();
      else if constexpr (K == FieldKind::kLong) f = r_.U32();
      else if constexpr (K == FieldKind::kLongLong || K == FieldKind::kTimestamp) f = r_.U64();
      else if constexpr (K == FieldKind::kShortStr || K == FieldKind::kLongStr) {
        std::string_view s = K == FieldKind::kShortStr ? r_.ShortStr() : r_.LongStr();
        f.assign(s.data(), s.size());
      } else if constexpr (K == FieldKind::kTable) {
        DecodeTable(r_, f);
      }
    }
  }

 private:
  Reader& r_;
  uint8_t bits_ = 0;
  int bit_ = -1;
};

template <class M>
MethodDecode DecodeInto(Reader& r, Method& out) {
  M m;
  FieldReader fr(r);
  m.Visit(fr);
  if (!r.ok() || !r.empty()) return MethodDecode::kMalformed;
  out = std::move(m);
  return MethodDecode::kOk;
}

template <class M>
void AppendFrame(std::string& out, uint16_t channel, const M& m) {
  Writer w(out);
  w.U8(kFrameMethod);
  w.U16(channel);
  size_t size_at = out.size();
  w.U32(0);
  w.U16(M::kClassId);
  w.U16(M::kMethodId);
  FieldWriter fw(out);
  m.Visit(fw);
  w.PatchU32(size_at, static_cast<uint32_t>(out.size() - size_at - 4));
  w.U8(kFrameEnd);
}

constexpr uint32_t Key(uint16_t c, uint16_t m) { return (uint32_t{c} << 16) | m; }

}  // namespace

MethodDecode DecodeMethod(std::string_view payload, Method& out) {
  Reader r(payload);
  uint16_t class_id = r.U16();
  uint16_t method_id = r.U16();
  if (!r.ok()) return MethodDecode::kMalformed;
  switch (Key(class_id, method_id)) {
#define WARREN_DECODE_CASE(Name, cls, mth, ...) \
  case Key(cls, mth):                           \
    return DecodeInto<Name>(r, out);
    WARREN_AMQP_METHODS(WARREN_DECODE_CASE)
#undef WARREN_DECODE_CASE
    default:
      return MethodDecode::kUnknownMethod;
  }
}

#define WARREN_DEFINE_ENCODER(Name, ...)                                      \
  void AppendMethodFrame(std::string& out, uint16_t channel, const Name& m) { \
    AppendFrame(out, channel, m);                                             \
  }
WARREN_AMQP_METHODS(WARREN_DEFINE_ENCODER)
#undef WARREN_DEFINE_ENCODER

void AppendMethodFrame(std::string& out, uint16_t channel, const Method& m) {
  std::visit(
      [&](const auto& v) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(v)>, std::monostate>)
          AppendFrame(out, channel, v);
      },
      m);
}

std::string_view MethodName(uint16_t class_id, uint16_t method_id) {
  switch (Key(class_id, method_id)) {
#define WARREN_NAME_CASE(Name, cls, mth, ...) \
  case Key(cls, mth):                         \
    return #Name;
    WARREN_AMQP_METHODS(WARREN_NAME_CASE)
#undef WARREN_NAME_CASE
    default:
      return "unknown";
  }
}

bool MethodHasContent(uint16_t class_id, uint16_t method_id) {
  switch (Key(class_id, method_id)) {
#define WARREN_CONTENT_CASE(Name, cls, mth, content, ...) \
  case Key(cls, mth):                                     \
    return content;
    WARREN_AMQP_METHODS(WARREN_CONTENT_CASE)
#undef WARREN_CONTENT_CASE
    default:
      return false;
  }
}

uint16_t ClassIdOf(const Method& m) {
  return std::visit(
      [](const auto& v) -> uint16_t {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::monostate>) return 0;
        else return std::decay_t<decltype(v)>::kClassId;
      },
      m);
}

uint16_t MethodIdOf(const Method& m) {
  return std::visit(
      [](const auto& v) -> uint16_t {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::monostate>) return 0;
        else return std::decay_t<decltype(v)>::kMethodId;
      },
      m);
}

}  // namespace warren::amqp
