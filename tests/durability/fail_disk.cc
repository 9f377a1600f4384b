// LD_PRELOAD shim for test_disk_failure.py: a disk that fails when the test
// says so. While the file named by WARREN_TEST_FAIL_SYNC exists, fdatasync
// fails with EIO; while the one named by WARREN_TEST_FULL_DISK exists, writes
// to message segments (*.seg) fail with ENOSPC. Nothing else changes.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

bool Exists(const char* env) {
  const char* path = std::getenv(env);
  return path && access(path, F_OK) == 0;
}

bool IsSegment(int fd) {
  char link[64], target[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n < 4) return false;
  return std::memcmp(target + n - 4, ".seg", 4) == 0;
}

}  // namespace

extern "C" int fdatasync(int fd) {
  using Fn = int (*)(int);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "fdatasync"));
  if (Exists("WARREN_TEST_FAIL_SYNC")) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}

extern "C" ssize_t write(int fd, const void* buf, size_t n) {
  using Fn = ssize_t (*)(int, const void*, size_t);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "write"));
  if (fd > 2 && Exists("WARREN_TEST_FULL_DISK") && IsSegment(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return real(fd, buf, n);
}
