// The input of warren_fuzz_queue_home: the frames a caller sends on one
// Cluster.Queues stream, each as a 2-byte big-endian length and that many
// bytes of an encoded QueueFrame. Shared by the fuzzer, which splits an
// input, and the corpus generator, which joins sample frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace warren::cluster::fuzz {

inline std::string JoinFrames(const std::vector<std::string>& frames) {
  std::string out;
  for (const std::string& f : frames) {
    size_t n = f.size() > 0xffff ? 0xffff : f.size();
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
    out.append(f, 0, n);
  }
  return out;
}

// The frames of `in`; a last one cut short is taken as it is.
inline std::vector<std::string_view> SplitFrames(std::string_view in) {
  std::vector<std::string_view> frames;
  while (in.size() >= 2) {
    size_t n = (static_cast<uint8_t>(in[0]) << 8) | static_cast<uint8_t>(in[1]);
    in.remove_prefix(2);
    n = n < in.size() ? n : in.size();
    frames.push_back(in.substr(0, n));
    in.remove_prefix(n);
  }
  return frames;
}

}  // namespace warren::cluster::fuzz
