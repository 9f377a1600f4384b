// Reading a whole file that someone else wrote (a certificate, a definitions
// file) without trusting its size: the read stops past `max` bytes.
#pragma once

#include <cstddef>
#include <string>

#include "common/status.h"

namespace warren {

// The file's bytes; an Error whose text says "cannot be read: <reason>" or
// "is larger than 64 MiB" / "N bytes" (callers prefix what the file is).
Result<std::string> ReadFileBounded(const std::string& path, size_t max);

}  // namespace warren
