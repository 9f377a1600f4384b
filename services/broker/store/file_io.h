// Small file helpers for the store: whole writes and reads, directory fsync,
// which errors a retry may cure, and the copies of damaged bytes recovery
// keeps under <data_dir>/damaged.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "broker/store/file_system.h"
#include "common/status.h"

namespace warren::store {

// A failed file operation (541 INTERNAL_ERROR where it reaches a client).
inline Error IoError(std::string text) { return Error{541, std::move(text)}; }

// Writes all of `data` at the file's current offset; retries short writes.
// `written` (if given) says how much went out, also when it fails part way;
// `error` (if given) the failed call's errno.
Status WriteAll(FileSystem& fs, int fd, std::string_view data, size_t* written = nullptr,
                int* error = nullptr);
// Reads exactly out.size() bytes at `offset`.
Status PreadAll(FileSystem& fs, int fd, std::string& out, uint64_t offset);
// Replaces (or creates) the file at `path` with `contents` so that a crash
// leaves either the old file or the new one, whole: written to `path`.tmp
// (made afresh with `mode`), fsynced, renamed over `path`, and the
// directory fsynced. On failure the temporary file is removed.
Status ReplaceFile(FileSystem& fs, const std::string& path, std::string_view contents,
                   mode_t mode = 0644);
// Makes a create, rename or unlink in `dir` durable.
Status SyncDirectory(FileSystem& fs, const std::string& dir);
// mkdir that is content when the directory exists.
Status MakeDirectory(FileSystem& fs, const std::string& dir);

// Whether a failed write or open may succeed later without anything lost in
// between: a full file system or quota, or no file descriptor free. The
// store then holds confirms, raises the disk alarm and retries; any other
// error stops the node (store/README.md, "When the disk fails").
bool Retryable(int error);

// Whether `length` bytes at `offset` of the file at `path` are all zero (a
// file the file system extended before a crash, with no data written).
bool AllZero(FileSystem& fs, const std::string& path, uint64_t offset, uint64_t length);

// Copies `length` bytes at `offset` of `source` to a file under `dir` named
// after `name` and the range ("<name>.<start>-<end>"), made durable; a copy
// of the same bytes made by an earlier start is reused. Returns its path.
Result<std::string> KeepCopy(FileSystem& fs, const std::string& source, uint64_t offset,
                             uint64_t length, const std::string& dir, const std::string& name);

}  // namespace warren::store
