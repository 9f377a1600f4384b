#include "mgmt/static_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "mgmt/router.h"

namespace warren::mgmt {
namespace {

namespace fs = std::filesystem;

constexpr uintmax_t kMaxFile = 16 << 20;  // the UI's files are small

std::string TypeOf(const fs::path& file) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},   {".json", "application/json"},
      {".svg", "image/svg+xml"},             {".png", "image/png"},
      {".ico", "image/x-icon"},              {".txt", "text/plain; charset=utf-8"},
      {".woff2", "font/woff2"},              {".map", "application/json"}};
  const std::string ext = file.extension().string();
  for (const auto& [e, type] : kTypes)
    if (ext == e) return type;
  return "application/octet-stream";
}

http::Response Plain(int status, const std::string& text) {
  return {status, "text/plain; charset=utf-8", {}, text + "\n"};
}

}  // namespace

StaticFiles::StaticFiles(const std::string& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    root_ = fs::canonical(dir, ec).string();
    if (ec) root_.clear();
  }
  if (root_.empty())
    spdlog::warn("no web UI: {} is not a directory (only /api is served)", dir);
}

http::Response StaticFiles::Get(const std::string& target) const {
  if (root_.empty()) return Plain(404, "Not Found");
  fs::path file(root_);
  for (const std::string& segment : PathSegments(target)) {
    if (segment == ".." || segment == "." || segment.find('\0') != std::string::npos ||
        segment.find('/') != std::string::npos)
      return Plain(404, "Not Found");
    if (!segment.empty()) file /= segment;
  }
  std::error_code ec;
  if (fs::is_directory(file, ec)) file /= "index.html";
  fs::path real = fs::canonical(file, ec);
  const std::string root_prefix = root_ + "/";
  if (ec || real.string().rfind(root_prefix, 0) != 0 || !fs::is_regular_file(real, ec) ||
      fs::file_size(real, ec) > kMaxFile)
    return Plain(404, "Not Found");
  std::ifstream in(real, std::ios::binary);
  if (!in.is_open()) return Plain(404, "Not Found");
  std::ostringstream content;
  content << in.rdbuf();
  return {200, TypeOf(real), {{"Cache-Control", "no-cache"}}, content.str()};
}

}  // namespace warren::mgmt
