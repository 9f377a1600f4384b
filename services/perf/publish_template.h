// Pre-encoded publishes: basic.publish + content header + body frames for one
// (exchange, routing key), encoded once. Publishing a message is one append of
// these bytes and an 8-byte patch of the timestamp at the start of the body.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "perf/options.h"

namespace warren::perf {

struct PublishTemplate {
  std::string bytes;
  size_t timestamp_at = 0;  // offset of the body's first byte within `bytes`
};

// The routing keys a producer publishes with, in the order it uses them
// (cycled, or picked pseudo-randomly with --topic-bindings).
std::vector<std::string> PublishKeys(const Options& options);

// `producer_id` goes into body bytes 8..11.
PublishTemplate EncodePublish(const Options& options, uint16_t channel, uint32_t frame_max,
                              const std::string& routing_key, uint32_t producer_id);

// Appends one message from `t`, stamped with `now_ns`.
inline void AppendPublish(std::string& out, const PublishTemplate& t, uint64_t now_ns) {
  size_t at = out.size() + t.timestamp_at;
  out.append(t.bytes);
  for (int i = 7; i >= 0; --i) {
    out[at + static_cast<size_t>(i)] = static_cast<char>(now_ns & 0xff);
    now_ns >>= 8;
  }
}

}  // namespace warren::perf
