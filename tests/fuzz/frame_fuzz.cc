// libFuzzer target for the AMQP codec: the bytes a client can send. The input
// is cut into frames as the broker's read loop does (frame_max 131072), and
// each frame is decoded further as the broker would: methods, the AMQPLAIN
// table in connection.start-ok, content headers and their properties.
// Properties checked (any failure aborts):
//   - the decoder is incremental: a frame that decodes was "need more" one
//     byte earlier, and the same frame again with nothing after it;
//   - errors are FRAME_ERROR (501);
//   - whatever decodes re-encodes, decodes again to an equal value, and
//     re-encodes to the same bytes (values holding a NaN are unequal to
//     themselves, so for those only the bytes are compared);
//   - a content header forwarded with its raw properties (AppendContent)
//     splits back into the same class, body size and properties, and the
//     body frames respect frame_max and reassemble the body.
// Run with `make fuzz` (README.md).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "amqp/field_table.h"
#include "amqp/frame.h"
#include "amqp/methods.h"
#include "amqp/properties.h"
#include "amqp/wire.h"
#include "fuzz_check.h"

namespace {

using namespace warren::amqp;

constexpr uint32_t kFrameMax = 131072;

// False only when `v` holds a NaN somewhere.
template <class T>
bool SelfEqual(const T& v) {
  return v == v;
}

void CheckTable(const FieldTable& t) {
  std::string wire;
  EncodeTable(t, wire);
  Reader r(wire);
  FieldTable back;
  FUZZ_CHECK(DecodeTable(r, back) && r.ok() && r.empty());
  if (SelfEqual(t)) FUZZ_CHECK(back == t);
  std::string again;
  EncodeTable(back, again);
  FUZZ_CHECK(again == wire);
}

// The AMQPLAIN response: table entries without a length prefix.
void CheckTableEntries(std::string_view bytes) {
  FieldTable t;
  if (!DecodeTableEntries(bytes, t)) return;
  CheckTable(t);
}

void CheckMethod(const FrameView& frame) {
  Method m;
  if (DecodeMethod(frame.payload, m) != MethodDecode::kOk) return;
  FUZZ_CHECK(m.index() != 0);
  std::string out;
  AppendMethodFrame(out, frame.channel, m);
  FrameView again;
  size_t used = 0;
  FrameError err;
  FUZZ_CHECK(DecodeFrame(out, 0, again, used, err) == FrameDecode::kOk);
  FUZZ_CHECK(used == out.size() && again.type == kFrameMethod && again.channel == frame.channel);
  // Every field re-encodes at the width it was read with.
  FUZZ_CHECK(again.payload.size() == frame.payload.size());
  Method m2;
  FUZZ_CHECK(DecodeMethod(again.payload, m2) == MethodDecode::kOk);
  FUZZ_CHECK(m2.index() == m.index());
  if (SelfEqual(m)) FUZZ_CHECK(m2 == m);
  std::string out2;
  AppendMethodFrame(out2, frame.channel, m2);
  FUZZ_CHECK(out2 == out);
  if (auto* start_ok = std::get_if<ConnectionStartOk>(&m)) {
    CheckTable(start_ok->client_properties);
    CheckTableEntries(start_ok->response);
  }
}

void CheckContentHeader(const FrameView& frame) {
  uint16_t class_id = 0;
  uint64_t body_size = 0;
  std::string_view raw;
  if (!SplitContentHeader(frame.payload, class_id, body_size, raw)) return;
  FUZZ_CHECK(frame.payload.size() >= 14 && raw.data() == frame.payload.data() + 12);

  // Forward the raw properties with a body as the broker does for a
  // consumer (the frame payload stands in for the body).
  const uint32_t out_frame_max = kFrameMinSize;
  std::string_view body = frame.payload;
  std::string out;
  AppendContent(out, frame.channel, class_id, raw, body, out_frame_max);
  std::string_view in(out);
  FrameView f;
  size_t used = 0;
  FrameError err;
  FUZZ_CHECK(DecodeFrame(in, 0, f, used, err) == FrameDecode::kOk && f.type == kFrameHeader);
  uint16_t class2 = 0;
  uint64_t size2 = 0;
  std::string_view raw2;
  FUZZ_CHECK(SplitContentHeader(f.payload, class2, size2, raw2));
  FUZZ_CHECK(class2 == class_id && size2 == body.size() && raw2 == raw);
  in.remove_prefix(used);
  std::string reassembled;
  while (!in.empty()) {
    FUZZ_CHECK(DecodeFrame(in, out_frame_max, f, used, err) == FrameDecode::kOk);
    FUZZ_CHECK(f.type == kFrameBody && f.channel == frame.channel && !f.payload.empty());
    reassembled.append(f.payload);
    in.remove_prefix(used);
  }
  FUZZ_CHECK(reassembled == body);

  BasicProperties p;
  if (!DecodeProperties(raw, p)) return;
  ContentHeader h;
  FUZZ_CHECK(DecodeContentHeader(frame.payload, h));
  FUZZ_CHECK(h.class_id == class_id && h.body_size == body_size);
  if (SelfEqual(p)) FUZZ_CHECK(h.properties == p);
  std::string enc;
  EncodeProperties(p, enc);
  FUZZ_CHECK(enc.size() <= raw.size());  // only continuation words can go
  BasicProperties p2;
  FUZZ_CHECK(DecodeProperties(enc, p2));
  if (SelfEqual(p)) FUZZ_CHECK(p2 == p);
  std::string enc2;
  EncodeProperties(p2, enc2);
  FUZZ_CHECK(enc2 == enc);
  if (p.headers) CheckTable(*p.headers);
}

// The same frame decoded from a buffer cut just before its last byte and
// from one cut just after it.
void CheckIncremental(std::string_view in, size_t used, const FrameView& frame) {
  FrameView f;
  size_t used2 = 0;
  FrameError err;
  FUZZ_CHECK(DecodeFrame(in.substr(0, used - 1), kFrameMax, f, used2, err) ==
             FrameDecode::kNeedMore);
  FUZZ_CHECK(DecodeFrame(in.substr(0, kFrameHeaderSize), kFrameMax, f, used2, err) ==
             FrameDecode::kNeedMore);
  FUZZ_CHECK(DecodeFrame(in.substr(0, used), kFrameMax, f, used2, err) == FrameDecode::kOk);
  FUZZ_CHECK(used2 == used && f.type == frame.type && f.channel == frame.channel &&
             f.payload.data() == frame.payload.data() && f.payload.size() == frame.payload.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // A leading protocol header is taken off as the broker does.
  if (in.substr(0, kProtocolHeader.size()) == kProtocolHeader)
    in.remove_prefix(kProtocolHeader.size());
  // Every pass consumes at least kFrameOverhead bytes or stops.
  while (!in.empty()) {
    FrameView frame;
    size_t used = 0;
    FrameError err;
    FrameDecode r = DecodeFrame(in, kFrameMax, frame, used, err);
    if (r == FrameDecode::kNeedMore) break;
    if (r == FrameDecode::kError) {
      FUZZ_CHECK(err.reply_code == 501 && !err.text.empty());
      break;
    }
    FUZZ_CHECK(used >= kFrameOverhead && used <= in.size() && used <= kFrameMax);
    FUZZ_CHECK(frame.payload.size() == used - kFrameOverhead);
    CheckIncremental(in, used, frame);
    if (frame.type == kFrameMethod) CheckMethod(frame);
    if (frame.type == kFrameHeader) CheckContentHeader(frame);
    in.remove_prefix(used);
  }
  return 0;
}
