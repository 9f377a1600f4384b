#include "broker/store/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace warren::store {

namespace {

class PosixFileSystem : public FileSystem {
 public:
  int Open(const std::string& path, int flags, mode_t mode) override {
    return ::open(path.c_str(), flags | O_CLOEXEC, mode);
  }
  int Close(int fd) override { return ::close(fd); }
  ssize_t Read(int fd, void* buf, size_t n) override { return ::read(fd, buf, n); }
  ssize_t Pread(int fd, void* buf, size_t n, off_t offset) override {
    return ::pread(fd, buf, n, offset);
  }
  ssize_t Write(int fd, const void* buf, size_t n) override { return ::write(fd, buf, n); }
  int Fsync(int fd) override { return ::fsync(fd); }
  int Fdatasync(int fd) override { return ::fdatasync(fd); }
  int Fstat(int fd, struct stat* st) override { return ::fstat(fd, st); }
  int Truncate(const std::string& path, off_t length) override {
    return ::truncate(path.c_str(), length);
  }
  int Rename(const std::string& from, const std::string& to) override {
    return ::rename(from.c_str(), to.c_str());
  }
  int Unlink(const std::string& path) override { return ::unlink(path.c_str()); }
  int Mkdir(const std::string& path, mode_t mode) override { return ::mkdir(path.c_str(), mode); }
  int Flock(int fd, int operation) override { return ::flock(fd, operation); }
  int List(const std::string& dir, std::vector<std::string>& names) override {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return -1;
    errno = 0;
    while (dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        names.emplace_back(e->d_name);
      errno = 0;
    }
    int err = errno;
    ::closedir(d);
    errno = err;
    return err == 0 ? 0 : -1;
  }
};

}  // namespace

FileSystem& FileSystem::Default() {
  static PosixFileSystem fs;
  return fs;
}

}  // namespace warren::store
