#include "common/file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace warren {

namespace {

// "64 MiB" for a whole number of MiB, else "1000 bytes".
std::string SizeText(size_t bytes) {
  constexpr size_t kMiB = size_t{1} << 20;
  if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

Result<std::string> ReadFileBounded(const std::string& path, size_t max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{0, std::string("cannot be read: ") + std::strerror(errno)};
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > max) return Error{0, "is larger than " + SizeText(max)};
  }
  if (in.bad()) return Error{0, "cannot be read"};
  return text;
}

}  // namespace warren
