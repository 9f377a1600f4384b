#include "broker/cluster/raft_storage.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "broker/store/file_io.h"
#include "raft/codec.h"
#include "raft/wire.h"

namespace warren::cluster {
namespace {

constexpr uint8_t kHard = 'H', kEntries = 'E', kSnapshot = 'S', kCompaction = 'C';
constexpr uint64_t kRewriteAbove = uint64_t{1} << 20;

std::string Errno(int error) { return std::strerror(error); }

std::string HardRecord(const raft::HardState& h) {
  std::string out;
  raft::wire::PutVarint(out, h.term);
  raft::wire::PutVarint(out, h.vote);
  return out;
}

std::string EntriesRecord(const std::vector<raft::Entry>& entries) {
  std::string out;
  raft::wire::PutVarint(out, entries.size());
  for (const raft::Entry& e : entries) {
    raft::wire::PutVarint(out, e.index);
    raft::wire::PutVarint(out, e.term);
    out.push_back(static_cast<char>(e.type));
    raft::wire::PutBytes(out, e.payload);
  }
  return out;
}

std::string SnapshotRecord(const raft::Snapshot& s) {
  std::string out;
  raft::wire::PutVarint(out, s.meta.index);
  raft::wire::PutVarint(out, s.meta.term);
  raft::wire::PutBytes(out, raft::EncodeConfiguration(s.meta.config));
  raft::wire::PutBytes(out, s.data);
  return out;
}

}  // namespace

RaftStorage::RaftStorage(store::FileSystem& fs, std::string dir)
    : fs_(fs), dir_(std::move(dir)), path_(dir_ + "/raft.log") {}

RaftStorage::~RaftStorage() {
  if (fd_ >= 0) fs_.Close(fd_);
}

bool RaftStorage::Apply(uint8_t type, std::string_view payload) {
  raft::wire::Reader r(payload);
  raft::Persisted& m = mirror_;
  if (type == kHard) {
    raft::HardState h;
    h.term = r.Varint();
    h.vote = r.Varint();
    if (!r.ok() || r.remaining() != 0 || h.term < m.hard_state.term) return false;
    m.hard_state = h;
    return true;
  }
  if (type == kEntries) {
    uint64_t count = r.Varint();
    if (!r.ok() || count == 0 || count > payload.size()) return false;
    for (uint64_t i = 0; i < count; ++i) {
      raft::Entry e;
      e.index = r.Varint();
      e.term = r.Varint();
      uint8_t t = r.Byte();
      e.payload = std::string(r.Bytes(raft::kMaxEntryBytes));
      if (!r.ok() || t > raft::kMaxEntryType) return false;
      e.type = static_cast<raft::EntryType>(t);
      // Each entry follows the stored one before it, after the snapshot.
      if (e.index <= m.snapshot.meta.index) return false;
      raft::Index last = m.entries.empty() ? m.snapshot.meta.index : m.entries.back().index;
      if (e.index > last + 1) return false;
      while (!m.entries.empty() && m.entries.back().index >= e.index) m.entries.pop_back();
      m.entries.push_back(std::move(e));
    }
    return r.remaining() == 0;
  }
  if (type == kSnapshot || type == kCompaction) {
    raft::Snapshot s;
    s.meta.index = r.Varint();
    s.meta.term = r.Varint();
    Result<raft::Configuration> config =
        raft::DecodeConfiguration(r.Bytes(raft::kMaxSnapshotBytes));
    s.data = std::string(r.Bytes(raft::kMaxSnapshotBytes));
    if (!r.ok() || r.remaining() != 0 || !config.ok() || s.meta.index == 0) return false;
    s.meta.config = std::move(config.value());
    if (type == kSnapshot) {
      m.entries.clear();
    } else {
      size_t keep = 0;
      while (keep < m.entries.size() && m.entries[keep].index <= s.meta.index) ++keep;
      m.entries.erase(m.entries.begin(), m.entries.begin() + static_cast<ptrdiff_t>(keep));
    }
    m.snapshot = std::move(s);
    return true;
  }
  return false;
}

Result<raft::Persisted> RaftStorage::Open() {
  if (Status s = store::MakeDirectory(fs_, dir_); !s.ok()) return s;
  fd_ = fs_.Open(path_, O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd_ < 0 && errno == ENOENT) {
    fd_ = fs_.Open(path_, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ < 0) return store::IoError(path_ + ": cannot be created: " + Errno(errno));
    return Create();
  }
  if (fd_ < 0) return store::IoError(path_ + ": cannot be opened: " + Errno(errno));
  struct stat st {};
  if (fs_.Fstat(fd_, &st) != 0) return store::IoError(path_ + ": " + Errno(errno));
  // Shorter than its header: a crash cut the file's creation short, before
  // anything was stored in it (records follow the header's sync).
  if (static_cast<uint64_t>(st.st_size) < store::kFileHeader) {
    spdlog::warn("{}: making again a file whose creation was cut short ({} bytes)", path_,
                 st.st_size);
    if (fs_.Truncate(path_, 0) != 0) return store::IoError(path_ + ": " + Errno(errno));
    return Create();
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  if (Status s = store::PreadAll(fs_, fd_, text, 0); !s.ok()) return s;
  if (store::ParseFileHeader(text, store::FileKind::kRaft, framing_) !=
      store::HeaderState::kSalted)
    return store::IoError(path_ + ": the file header is damaged; refusing to start");
  size_t at = store::kFileHeader;
  while (at < text.size()) {
    uint8_t type = 0;
    std::string_view payload;
    size_t consumed = 0;
    store::RecordParse p =
        store::ParseRecord(std::string_view(text).substr(at), framing_, type, payload, consumed);
    if (p == store::RecordParse::kNeedMore) {
      spdlog::warn("{}: cutting a torn last record at offset {} ({} bytes)", path_, at,
                   text.size() - at);
      if (fs_.Truncate(path_, static_cast<off_t>(at)) != 0)
        return store::IoError(path_ + ": cannot cut the torn record: " + Errno(errno));
      if (fs_.Fdatasync(fd_) != 0) return store::IoError(path_ + ": " + Errno(errno));
      break;
    }
    if (p == store::RecordParse::kCorrupt || !Apply(type, payload))
      return store::IoError(path_ + ": damaged record at offset " + std::to_string(at) +
                            "; refusing to start (docs/cluster.md)");
    at += consumed;
  }
  size_ = at;
  return mirror_;
}

Result<raft::Persisted> RaftStorage::Create() {
  framing_ = store::Framing::Random();
  size_ = 0;
  if (Status s = Append(store::FileHeader(store::FileKind::kRaft, framing_)); !s.ok()) return s;
  if (Status s = store::SyncDirectory(fs_, dir_); !s.ok()) return s;
  return mirror_;
}

Status RaftStorage::Append(const std::string& records) {
  if (Status s = store::WriteAll(fs_, fd_, records); !s.ok()) return s;
  if (fs_.Fdatasync(fd_) != 0) return store::IoError(path_ + ": fdatasync: " + Errno(errno));
  size_ += records.size();
  return Status::Ok();
}

Status RaftStorage::Save(const raft::Ready& ready) {
  std::string records;
  auto add = [&](uint8_t type, const std::string& payload) {
    records += store::MakeRecord(framing_, type, payload);
    bool fits = Apply(type, payload);
    (void)fits;  // the core hands out only what fits
  };
  if (ready.hard_state) add(kHard, HardRecord(*ready.hard_state));
  if (ready.snapshot) add(kSnapshot, SnapshotRecord(*ready.snapshot));
  if (!ready.entries.empty()) add(kEntries, EntriesRecord(ready.entries));
  if (records.empty()) return Status::Ok();
  if (Status s = Append(records); !s.ok()) return s;
  return MaybeRewrite();
}

Result<raft::Persisted> RaftStorage::Bootstrap(raft::Persisted first) {
  raft::Ready initial;
  initial.hard_state = first.hard_state;
  if (first.snapshot.meta.index > 0) initial.snapshot = first.snapshot;
  initial.entries = first.entries;
  if (Status s = Save(initial); !s.ok()) return s.error();
  return first;
}

Status RaftStorage::SaveCompaction(const raft::Snapshot& snapshot) {
  std::string payload = SnapshotRecord(snapshot);
  std::string record = store::MakeRecord(framing_, kCompaction, payload);
  Apply(kCompaction, payload);
  if (Status s = Append(record); !s.ok()) return s;
  return MaybeRewrite();
}

uint64_t RaftStorage::MirrorBytes() const {
  uint64_t bytes = mirror_.snapshot.data.size();
  for (const raft::Entry& e : mirror_.entries) bytes += e.payload.size() + 16;
  return bytes;
}

std::string RaftStorage::Describe() const {
  std::string out = store::FileHeader(store::FileKind::kRaft, framing_);
  out += store::MakeRecord(framing_, kHard, HardRecord(mirror_.hard_state));
  if (mirror_.snapshot.meta.index > 0)
    out += store::MakeRecord(framing_, kSnapshot, SnapshotRecord(mirror_.snapshot));
  if (!mirror_.entries.empty())
    out += store::MakeRecord(framing_, kEntries, EntriesRecord(mirror_.entries));
  return out;
}

Status RaftStorage::MaybeRewrite() {
  if (size_ < kRewriteAbove || size_ < 2 * MirrorBytes()) return Status::Ok();
  store::Framing old = framing_;
  framing_ = store::Framing::Random();
  std::string text = Describe();
  if (Status s = store::ReplaceFile(fs_, path_, text, 0600); !s.ok()) {
    framing_ = old;  // the caller stops the node: nothing more is written
    return s;
  }
  fs_.Close(fd_);
  fd_ = fs_.Open(path_, O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) return store::IoError(path_ + ": cannot be opened: " + Errno(errno));
  size_ = text.size();
  return Status::Ok();
}

}  // namespace warren::cluster
