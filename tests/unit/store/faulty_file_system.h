// A FileSystem for tests that passes every call to the real one except those
// it is told to fail: "the 2nd fdatasync from now fails with EIO", "every
// write to a .seg file fails with ENOSPC until Heal()". Thread-safe, since the
// message log's sync thread calls it too.
#pragma once

#include <cerrno>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "broker/store/file_system.h"

namespace warren::store::test {

enum class Op {
  kOpen, kClose, kRead, kPread, kWrite, kFsync, kFdatasync, kFstat, kTruncate, kRename,
  kUnlink, kMkdir, kFlock, kList,
};

class FaultyFileSystem : public FileSystem {
 public:
  // The `nth` matching call of `op` from now (1 = the next) fails with
  // `error`, and so do the `times - 1` matching calls after it (times < 0:
  // every one until Heal). A call matches when its path (for calls on an
  // fd: the path it was opened with) contains `path_part`.
  void Fail(Op op, int error, int nth = 1, int times = 1, std::string path_part = "") {
    std::lock_guard<std::mutex> lock(mu_);
    faults_.push_back({op, error, nth, times, std::move(path_part)});
  }
  // Every planned failure is forgotten; calls succeed again.
  void Heal() {
    std::lock_guard<std::mutex> lock(mu_);
    faults_.clear();
  }
  // How many calls of `op` failed on purpose so far.
  int failed(Op op) {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_[op];
  }
  int calls(Op op) {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_[op];
  }

  int Open(const std::string& path, int flags, mode_t mode) override {
    if (Fails(Op::kOpen, path)) return -1;
    int fd = real().Open(path, flags, mode);
    if (fd >= 0) {
      std::lock_guard<std::mutex> lock(mu_);
      paths_[fd] = path;
    }
    return fd;
  }
  int Close(int fd) override {
    bool fail = Fails(Op::kClose, PathOf(fd));
    {
      std::lock_guard<std::mutex> lock(mu_);
      paths_.erase(fd);
    }
    int r = real().Close(fd);  // a failed close still closes (Linux)
    if (fail) errno = EIO;
    return fail ? -1 : r;
  }
  ssize_t Read(int fd, void* buf, size_t n) override {
    return Fails(Op::kRead, PathOf(fd)) ? -1 : real().Read(fd, buf, n);
  }
  ssize_t Pread(int fd, void* buf, size_t n, off_t offset) override {
    return Fails(Op::kPread, PathOf(fd)) ? -1 : real().Pread(fd, buf, n, offset);
  }
  ssize_t Write(int fd, const void* buf, size_t n) override {
    return Fails(Op::kWrite, PathOf(fd)) ? -1 : real().Write(fd, buf, n);
  }
  int Fsync(int fd) override { return Fails(Op::kFsync, PathOf(fd)) ? -1 : real().Fsync(fd); }
  int Fdatasync(int fd) override {
    return Fails(Op::kFdatasync, PathOf(fd)) ? -1 : real().Fdatasync(fd);
  }
  int Fstat(int fd, struct stat* st) override {
    return Fails(Op::kFstat, PathOf(fd)) ? -1 : real().Fstat(fd, st);
  }
  int Truncate(const std::string& path, off_t length) override {
    return Fails(Op::kTruncate, path) ? -1 : real().Truncate(path, length);
  }
  int Rename(const std::string& from, const std::string& to) override {
    return Fails(Op::kRename, from) ? -1 : real().Rename(from, to);
  }
  int Unlink(const std::string& path) override {
    return Fails(Op::kUnlink, path) ? -1 : real().Unlink(path);
  }
  int Mkdir(const std::string& path, mode_t mode) override {
    return Fails(Op::kMkdir, path) ? -1 : real().Mkdir(path, mode);
  }
  int Flock(int fd, int operation) override {
    return Fails(Op::kFlock, PathOf(fd)) ? -1 : real().Flock(fd, operation);
  }
  int List(const std::string& dir, std::vector<std::string>& names) override {
    return Fails(Op::kList, dir) ? -1 : real().List(dir, names);
  }

 private:
  struct Fault {
    Op op;
    int error;
    int nth;    // matching calls still to pass before the first failure, plus one
    int times;  // failures left (< 0: unlimited)
    std::string path_part;
  };

  static FileSystem& real() { return FileSystem::Default(); }

  std::string PathOf(int fd) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = paths_.find(fd);
    return it == paths_.end() ? std::string() : it->second;
  }

  bool Fails(Op op, const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_[op];
    for (Fault& f : faults_) {
      if (f.op != op || f.times == 0 || path.find(f.path_part) == std::string::npos) continue;
      if (f.nth > 1) {
        --f.nth;
        continue;
      }
      if (f.times > 0) --f.times;
      ++failed_[op];
      errno = f.error;
      return true;
    }
    return false;
  }

  std::mutex mu_;
  std::vector<Fault> faults_;
  std::map<int, std::string> paths_;
  std::map<Op, int> failed_;
  std::map<Op, int> calls_;
};

}  // namespace warren::store::test
