#include "common/memory_limit.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <string_view>

namespace warren {
namespace {

// v1 writes "no limit" as a huge page-rounded number; anything at or above
// this is no limit.
constexpr uint64_t kUnlimited = uint64_t{1} << 62;
// A control file is one short line; a longer one is not read on.
constexpr size_t kMaxLine = 4096;

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in) return line;
  char c;
  while (line.size() < kMaxLine && in.get(c) && c != '\n') line.push_back(c);
  return line;
}

// The limit in `file`: 0 when it is absent, "max", unlimited or not a number.
uint64_t LimitIn(const std::string& file) {
  std::string text = FirstLine(file);
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value >= kUnlimited) return 0;
  return value;
}

// The tighter of two limits, 0 meaning none.
uint64_t Tighter(uint64_t a, uint64_t b) { return a == 0 ? b : b == 0 ? a : std::min(a, b); }

// The smallest limit in DIR/PATH/FILE for PATH and each of its ancestors up
// to DIR itself.
uint64_t SmallestUpTo(const std::string& dir, std::string path, const std::string& file) {
  uint64_t smallest = 0;
  for (;;) {
    while (!path.empty() && path.back() == '/') path.pop_back();
    smallest = Tighter(smallest, LimitIn(dir + path + "/" + file));
    if (path.empty()) return smallest;
    path.erase(path.rfind('/') == std::string::npos ? 0 : path.rfind('/'));
  }
}

}  // namespace

uint64_t CgroupMemoryLimit(const std::string& root) {
  std::ifstream in(root + "/proc/self/cgroup");
  uint64_t smallest = 0;
  std::string line;
  for (int lines = 0; lines < 64 && std::getline(in, line); ++lines) {
    // HIERARCHY:CONTROLLERS:PATH
    size_t first = line.find(':');
    size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    std::string_view controllers(line.data() + first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (path.empty() || path[0] != '/' || path.find("..") != std::string::npos) continue;
    std::string base = root + "/sys/fs/cgroup";
    if (line.compare(0, first, "0") == 0 && controllers.empty())
      smallest = Tighter(smallest, SmallestUpTo(base, path, "memory.max"));
    bool memory = false;
    for (size_t at = 0; at <= controllers.size();) {
      size_t comma = std::min(controllers.find(',', at), controllers.size());
      memory = memory || controllers.substr(at, comma - at) == "memory";
      at = comma + 1;
    }
    if (memory)
      smallest = Tighter(smallest, SmallestUpTo(base + "/memory", path, "memory.limit_in_bytes"));
  }
  return smallest;
}

uint64_t AvailableMemory() {
  uint64_t ram =
      static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return Tighter(ram, CgroupMemoryLimit());
}

}  // namespace warren
