#include "broker/store/file_io.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace warren::store {

namespace {

constexpr size_t kCopyChunk = 1 << 20;

Error Errno(const std::string& what) { return IoError(what + ": " + std::strerror(errno)); }

// Whether the file at `path` holds exactly `length` bytes equal to those at
// `offset` of `src`. false also when it cannot be read.
bool SameBytes(FileSystem& fs, int src, uint64_t offset, uint64_t length, const std::string& path) {
  int fd = fs.Open(path, O_RDONLY);
  if (fd < 0) return false;
  struct stat st {};
  bool same = fs.Fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) == length;
  std::string a, b;
  for (uint64_t done = 0; same && done < length; done += a.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kCopyChunk, length - done));
    a.assign(n, '\0');
    b.assign(n, '\0');
    same = PreadAll(fs, src, a, offset + done).ok() && PreadAll(fs, fd, b, done).ok() && a == b;
  }
  fs.Close(fd);
  return same;
}

Status WriteCopy(FileSystem& fs, int src, uint64_t offset, uint64_t length,
                 const std::string& path) {
  std::string tmp = path + ".tmp";
  int fd = fs.Open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return Errno(tmp);
  Status s = Status::Ok();
  std::string chunk;
  for (uint64_t done = 0; s.ok() && done < length; done += chunk.size()) {
    chunk.assign(static_cast<size_t>(std::min<uint64_t>(kCopyChunk, length - done)), '\0');
    s = PreadAll(fs, src, chunk, offset + done);
    if (s.ok()) s = WriteAll(fs, fd, chunk);
  }
  if (s.ok() && fs.Fdatasync(fd) != 0) s = Errno(tmp);
  if (fs.Close(fd) != 0 && s.ok()) s = Errno(tmp);
  if (s.ok() && fs.Rename(tmp, path) != 0) s = Errno(path);
  if (!s.ok()) {
    fs.Unlink(tmp);
    return s;
  }
  return Status::Ok();
}

}  // namespace

Status WriteAll(FileSystem& fs, int fd, std::string_view data, size_t* written, int* error) {
  size_t done = 0;
  int err = 0;
  while (done < data.size()) {
    ssize_t n = fs.Write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (written) *written = done;
  if (error) *error = err;
  return err == 0 ? Status::Ok() : Status(IoError(std::strerror(err)));
}

Status PreadAll(FileSystem& fs, int fd, std::string& out, uint64_t offset) {
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = fs.Pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError(std::strerror(errno));
    if (n == 0) return IoError("unexpected end of file");
    got += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status ReplaceFile(FileSystem& fs, const std::string& path, std::string_view contents,
                   mode_t mode) {
  std::string tmp = path + ".tmp";
  fs.Unlink(tmp);  // a leftover from a crash, whose mode O_TRUNC would keep
  int fd = fs.Open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Errno(tmp);
  Status s = WriteAll(fs, fd, contents);
  if (s.ok() && fs.Fsync(fd) != 0) s = IoError(std::string("fsync: ") + std::strerror(errno));
  if (fs.Close(fd) != 0 && s.ok()) s = IoError(std::string("close: ") + std::strerror(errno));
  if (!s.ok()) {
    fs.Unlink(tmp);
    return IoError(tmp + ": " + s.error().text);
  }
  if (fs.Rename(tmp, path) != 0) {
    Error e = Errno(path);
    fs.Unlink(tmp);
    return e;
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  return SyncDirectory(fs, dir.empty() ? "." : dir);
}

Status SyncDirectory(FileSystem& fs, const std::string& dir) {
  int fd = fs.Open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Errno(dir);
  Status s = fs.Fsync(fd) == 0 ? Status::Ok() : Errno("fsync of " + dir);
  fs.Close(fd);
  return s;
}

Status MakeDirectory(FileSystem& fs, const std::string& dir) {
  if (fs.Mkdir(dir, 0755) == 0 || errno == EEXIST) return Status::Ok();
  return Errno(dir);
}

bool Retryable(int error) {
  return error == ENOSPC || error == EDQUOT || error == EMFILE || error == ENFILE;
}

bool AllZero(FileSystem& fs, const std::string& path, uint64_t offset, uint64_t length) {
  int fd = fs.Open(path, O_RDONLY);
  if (fd < 0) return false;
  bool zero = true;
  std::string chunk;
  for (uint64_t done = 0; zero && done < length; done += chunk.size()) {
    chunk.assign(static_cast<size_t>(std::min<uint64_t>(kCopyChunk, length - done)), '\0');
    zero = PreadAll(fs, fd, chunk, offset + done).ok() &&
           chunk.find_first_not_of('\0') == std::string::npos;
  }
  fs.Close(fd);
  return zero;
}

Result<std::string> KeepCopy(FileSystem& fs, const std::string& source, uint64_t offset,
                             uint64_t length, const std::string& dir, const std::string& name) {
  if (Status s = MakeDirectory(fs, dir); !s.ok()) return s.error();
  int src = fs.Open(source, O_RDONLY);
  if (src < 0) return Errno(source);
  std::string base =
      dir + "/" + name + "." + std::to_string(offset) + "-" + std::to_string(offset + length);
  Result<std::string> result = IoError(base + ": too many copies");
  for (int i = 0; i < 100; ++i) {
    std::string path = i == 0 ? base : base + "." + std::to_string(i);
    struct stat st {};
    int probe = fs.Open(path, O_RDONLY);
    if (probe >= 0) {
      bool exists = fs.Fstat(probe, &st) == 0;
      fs.Close(probe);
      if (exists && SameBytes(fs, src, offset, length, path)) {
        result = path;
        break;
      }
      continue;
    }
    if (errno != ENOENT) {
      result = Errno(path);
      break;
    }
    Status s = WriteCopy(fs, src, offset, length, path);
    if (s.ok()) s = SyncDirectory(fs, dir);
    result = s.ok() ? Result<std::string>(path) : Result<std::string>(s.error());
    break;
  }
  fs.Close(src);
  return result;
}

}  // namespace warren::store
