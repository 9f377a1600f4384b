// The web UI's static files: GET /path reads ui_dir/path ("/" is
// index.html) with a Content-Type named by the extension. A path with a
// ".." segment, a NUL byte or one that leads out of the folder (a link) is
// 404, as is anything that is not a regular file. Without the folder every
// path is 404.
// Thread-safe (read-only after construction).
#pragma once

#include <string>

#include "http/server.h"

namespace warren::mgmt {

class StaticFiles {
 public:
  explicit StaticFiles(const std::string& dir);
  http::Response Get(const std::string& target) const;

 private:
  std::string root_;  // canonical; empty without a folder
};

}  // namespace warren::mgmt
