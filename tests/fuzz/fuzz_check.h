// What every fuzz target shares: FUZZ_CHECK, a property that aborts the run
// (libFuzzer then keeps the input that broke it), and a scratch directory
// for targets that read files.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

namespace warren::fuzzing {

// A directory of the process's own, named after `target` (on tmpfs when
// there is one), removed at exit; the first call decides the name and it is
// never destroyed before exit.
inline const std::filesystem::path& ScratchDir(const char* target) {
  namespace fs = std::filesystem;
  static const fs::path* dir = [target] {
    fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    auto* d = new fs::path(base / ("warren-fuzz-" + std::string(target) + "-" +
                                   std::to_string(::getpid())));
    fs::create_directories(*d);
    std::atexit([] { fs::remove_all(*dir); });
    return d;
  }();
  return *dir;
}

}  // namespace warren::fuzzing
