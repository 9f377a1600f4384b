// libFuzzer target for the AMQP codec: the bytes a client can send. Every
// frame that decodes is decoded further (method, content header,
// properties), and everything that decodes must survive encode -> decode
// unchanged; any difference aborts. Run with `make fuzz` (README.md).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "amqp/frame.h"
#include "amqp/methods.h"
#include "amqp/properties.h"

namespace {

using namespace warren::amqp;

void Check(bool ok) {
  if (!ok) std::abort();
}

void FuzzMethod(const FrameView& frame) {
  Method m;
  if (DecodeMethod(frame.payload, m) != MethodDecode::kOk) return;
  std::string out;
  AppendMethodFrame(out, frame.channel, m);
  FrameView again;
  size_t used = 0;
  FrameError err;
  Check(DecodeFrame(out, 0, again, used, err) == FrameDecode::kOk && used == out.size());
  Method m2;
  Check(DecodeMethod(again.payload, m2) == MethodDecode::kOk);
  // Compare encodings, not values: a NaN in a table is unequal to itself.
  std::string out2;
  AppendMethodFrame(out2, frame.channel, m2);
  Check(out == out2);
}

void FuzzHeader(const FrameView& frame) {
  ContentHeader h;
  if (!DecodeContentHeader(frame.payload, h)) return;
  std::string raw;
  EncodeProperties(h.properties, raw);
  BasicProperties p2;
  Check(DecodeProperties(raw, p2));
  // Compared as bytes, since a NaN in the headers is unequal to itself.
  std::string raw2;
  EncodeProperties(p2, raw2);
  Check(raw == raw2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // A leading protocol header is skipped as the broker does.
  if (in.substr(0, kProtocolHeader.size()) == kProtocolHeader) in.remove_prefix(kProtocolHeader.size());
  while (!in.empty()) {
    FrameView frame;
    size_t used = 0;
    FrameError err;
    auto r = DecodeFrame(in, 131072, frame, used, err);
    if (r != FrameDecode::kOk) {
      Check(r == FrameDecode::kNeedMore || err.reply_code == 501);
      break;
    }
    Check(used > 0 && used <= in.size());
    if (frame.type == kFrameMethod) FuzzMethod(frame);
    if (frame.type == kFrameHeader) FuzzHeader(frame);
    in.remove_prefix(used);
  }
  return 0;
}
