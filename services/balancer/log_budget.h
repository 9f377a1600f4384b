// Bounds how many lines one kind of event that a peer can cause at will
// (refused clients, bad stats requests, failed accepts) writes to the log:
// at most `per_second` a second, and the next line let through says how many
// were left out meanwhile, so a flood costs a few lines, not the disk.
//
// Plain value; single-threaded, like everything on the balancer's loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace warren::balancer {

class LogBudget {
 public:
  explicit LogBudget(int per_second) : per_second_(per_second) {}

  // nullopt: leave this line out. Otherwise log it with the returned suffix
  // appended ("" or " (N more not logged)").
  std::optional<std::string> Allow() {
    auto now = std::chrono::steady_clock::now();
    if (now - window_start_ >= std::chrono::seconds(1)) {
      window_start_ = now;
      used_ = 0;
    }
    if (used_ >= per_second_) {
      ++left_out_;
      return std::nullopt;
    }
    ++used_;
    std::string suffix = left_out_ ? " (" + std::to_string(left_out_) + " more not logged)" : "";
    left_out_ = 0;
    return suffix;
  }

 private:
  int per_second_;
  int used_ = 0;
  int64_t left_out_ = 0;
  std::chrono::steady_clock::time_point window_start_{};
};

}  // namespace warren::balancer
