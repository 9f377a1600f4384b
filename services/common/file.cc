#include "common/file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace warren {

Result<std::string> ReadFileBounded(const std::string& path, size_t max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{0, std::string("cannot be read: ") + std::strerror(errno)};
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > max) return Error{0, "is larger than " + std::to_string(max) + " bytes"};
  }
  if (in.bad()) return Error{0, "cannot be read"};
  return text;
}

}  // namespace warren
