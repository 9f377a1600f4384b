#include "common/thread_nice.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace warren {

namespace {

// getpriority returns -1 both as a value and as an error: errno tells.
bool NiceOf(pid_t tid, int& nice) {
  errno = 0;
  int v = getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
  if (v == -1 && errno != 0) return false;
  nice = v;
  return true;
}

}  // namespace

int NiceOtherThreads(int delta) {
  auto self = static_cast<pid_t>(syscall(SYS_gettid));
  int own = 0;
  if (delta <= 0 || !NiceOf(self, own)) return 0;
  int target = std::min(19, own + delta);
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return 0;
  int changed = 0;
  while (dirent* e = readdir(dir)) {
    char* end = nullptr;
    long tid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || tid <= 0 || tid == self) continue;
    int now = 0;
    if (!NiceOf(static_cast<pid_t>(tid), now) || now >= target) continue;
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(tid), target) == 0) ++changed;
  }
  closedir(dir);
  return changed;
}

}  // namespace warren
