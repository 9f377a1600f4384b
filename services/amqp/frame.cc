#include "amqp/frame.h"

#include <string>

#include "amqp/constants.h"
#include "amqp/wire.h"

namespace warren::amqp {

FrameDecode DecodeFrame(std::string_view in, uint32_t frame_max, FrameView& frame,
                        size_t& consumed, FrameError& error) {
  if (in.size() < kFrameHeaderSize) return FrameDecode::kNeedMore;
  Reader r(in);
  frame.type = r.U8();
  frame.channel = r.U16();
  uint32_t size = r.U32();
  if (frame.type != kFrameMethod && frame.type != kFrameHeader && frame.type != kFrameBody &&
      frame.type != kFrameHeartbeat) {
    error = {static_cast<uint16_t>(ReplyCode::kFrameError),
             "FRAME_ERROR - unknown frame type " + std::to_string(frame.type)};
    return FrameDecode::kError;
  }
  if (frame_max != 0 && uint64_t{size} + kFrameOverhead > frame_max) {
    error = {static_cast<uint16_t>(ReplyCode::kFrameError),
             "FRAME_ERROR - frame size " + std::to_string(size) + " exceeds frame_max " +
                 std::to_string(frame_max)};
    return FrameDecode::kError;
  }
  if (in.size() < uint64_t{size} + kFrameOverhead) return FrameDecode::kNeedMore;
  if (static_cast<uint8_t>(in[kFrameHeaderSize + size]) != kFrameEnd) {
    error = {static_cast<uint16_t>(ReplyCode::kFrameError), "FRAME_ERROR - bad frame end marker"};
    return FrameDecode::kError;
  }
  frame.payload = in.substr(kFrameHeaderSize, size);
  consumed = size + kFrameOverhead;
  return FrameDecode::kOk;
}

void AppendHeartbeat(std::string& out) {
  static constexpr char kBeat[] = {kFrameHeartbeat, 0, 0, 0, 0, 0, 0, static_cast<char>(kFrameEnd)};
  out.append(kBeat, sizeof kBeat);
}

void AppendContent(std::string& out, uint16_t channel, uint16_t class_id,
                   std::string_view raw_properties, std::string_view body, uint32_t frame_max) {
  Writer w(out);
  w.U8(kFrameHeader);
  w.U16(channel);
  w.U32(static_cast<uint32_t>(12 + raw_properties.size()));
  w.U16(class_id);
  w.U16(0);
  w.U64(body.size());
  w.Bytes(raw_properties);
  w.U8(kFrameEnd);
  size_t chunk = frame_max > kFrameOverhead ? frame_max - kFrameOverhead : body.size();
  if (chunk == 0) chunk = 1;
  for (size_t at = 0; at < body.size(); at += chunk) {
    std::string_view part = body.substr(at, chunk);
    w.U8(kFrameBody);
    w.U16(channel);
    w.U32(static_cast<uint32_t>(part.size()));
    w.Bytes(part);
    w.U8(kFrameEnd);
  }
}

}  // namespace warren::amqp
