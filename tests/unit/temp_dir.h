// A fresh directory for one test (under the system's temporary directory,
// named after `prefix`), removed with everything in it when the TempDir
// goes.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace warren::testkit {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / ("warren-" + prefix + "-XXXXXX")).string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace warren::testkit
