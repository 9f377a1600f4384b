// AMQP 0-9-1 framing (spec 4.2.3): type, channel, size, payload, frame-end.
// DecodeFrame is incremental: it looks at the bytes received so far and says
// whether one whole frame is there (kOk, with how much it consumed), more bytes
// are needed, or the bytes are bad (with the reply code for connection.close).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace warren::amqp {

inline constexpr uint8_t kFrameMethod = 1;
inline constexpr uint8_t kFrameHeader = 2;
inline constexpr uint8_t kFrameBody = 3;
inline constexpr uint8_t kFrameHeartbeat = 8;
inline constexpr uint8_t kFrameEnd = 0xCE;
inline constexpr uint32_t kFrameHeaderSize = 7;
inline constexpr uint32_t kFrameOverhead = 8;  // header + frame-end
inline constexpr uint32_t kFrameMinSize = 4096;

// "AMQP" 0 0 9 1
inline constexpr std::string_view kProtocolHeader{"AMQP\x00\x00\x09\x01", 8};

struct FrameView {
  uint8_t type = 0;
  uint16_t channel = 0;
  std::string_view payload;
};

enum class FrameDecode { kOk, kNeedMore, kError };

struct FrameError {
  uint16_t reply_code = 0;
  std::string text;
};

// frame_max bounds the whole frame, header and frame-end included, as the
// spec's connection.tune defines it (0 means no limit).
FrameDecode DecodeFrame(std::string_view in, uint32_t frame_max, FrameView& frame,
                        size_t& consumed, FrameError& error);

void AppendHeartbeat(std::string& out);
// A content header frame followed by as many body frames as frame_max needs.
void AppendContent(std::string& out, uint16_t channel, uint16_t class_id,
                   std::string_view raw_properties, std::string_view body, uint32_t frame_max);

}  // namespace warren::amqp
