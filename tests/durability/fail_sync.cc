// LD_PRELOAD shim for test_disk_failure.py: while the file named by
// WARREN_TEST_FAIL_SYNC exists, fdatasync fails with EIO, as a disk that
// stopped taking writes makes it fail. The test decides when by creating the
// file; nothing else in the process changes.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

extern "C" int fdatasync(int fd) {
  using Fn = int (*)(int);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "fdatasync"));
  const char* trigger = std::getenv("WARREN_TEST_FAIL_SYNC");
  if (trigger && access(trigger, F_OK) == 0) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}
