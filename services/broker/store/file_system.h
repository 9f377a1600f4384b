// The store's view of the file system: every POSIX call the store makes goes
// through this interface, so unit tests can make any one of them fail (see
// tests/unit/store/faulty_file_system.h) and nothing in the store assumes a
// call cannot fail.
//
// Each call returns what POSIX returns (-1 with errno set on failure).
// Implementations must allow calls from several threads at once: the message
// log's sync thread calls Fdatasync/Close while the node's loop does the rest.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace warren::store {

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  virtual int Open(const std::string& path, int flags, mode_t mode = 0644) = 0;
  virtual int Close(int fd) = 0;
  virtual ssize_t Read(int fd, void* buf, size_t n) = 0;
  virtual ssize_t Pread(int fd, void* buf, size_t n, off_t offset) = 0;
  virtual ssize_t Write(int fd, const void* buf, size_t n) = 0;
  virtual int Fsync(int fd) = 0;
  virtual int Fdatasync(int fd) = 0;
  virtual int Fstat(int fd, struct stat* st) = 0;
  virtual int Truncate(const std::string& path, off_t length) = 0;
  virtual int Rename(const std::string& from, const std::string& to) = 0;
  virtual int Unlink(const std::string& path) = 0;
  virtual int Mkdir(const std::string& path, mode_t mode = 0755) = 0;
  virtual int Flock(int fd, int operation) = 0;
  // The names in `dir` (without "." and ".."); -1 with errno on failure.
  virtual int List(const std::string& dir, std::vector<std::string>& names) = 0;

  // The real one (plain system calls); lives for the whole process.
  static FileSystem& Default();
};

}  // namespace warren::store
