// What a node's Raft core must keep on disk (raft/raft.h, "Outputs", step
// 1): the hard state (term, vote), the latest snapshot and the log after it,
// in <data_dir>/cluster/raft.log, framed as every store file is
// (store/record.h, kind 'R'; docs/cluster.md, "The Raft log on disk").
//
// Records, each a change to what is stored:
//   'H' hard state      term, vote
//   'E' entries         count, then (index, term, type, payload) each; the
//                       first replaces the stored entry at its index and
//                       everything after it
//   'S' snapshot        index, term, configuration, data; replaces the
//                       stored snapshot and every entry (from a leader)
//   'C' compaction      as 'S', but keeps the entries after its index (the
//                       node's own snapshot)
// Open() replays them. A file shorter than its header (its creation cut
// short) is made again. A torn last record (a write the crash cut short,
// which nothing sent depended on) is cut off; any other damage, or records
// that do not fit together, refuses start naming the offset: Raft must not
// run on a log it cannot trust. When the file holds more than twice what
// it describes (and at least 1 MiB), Save rewrites it: a new file, synced,
// renamed over the old one.
//
// Lifecycle: used from one thread (the node's loop). A failed write or sync
// is returned: the caller must then send nothing that depends on it, and
// stops the node as the message store does (exit 74).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/store/file_system.h"
#include "broker/store/record.h"
#include "common/status.h"
#include "raft/raft.h"

namespace warren::cluster {

class RaftStorage {
 public:
  RaftStorage(store::FileSystem& fs, std::string dir);
  ~RaftStorage();
  RaftStorage(const RaftStorage&) = delete;
  RaftStorage& operator=(const RaftStorage&) = delete;

  // Reads what was stored; an empty Persisted when there is no file yet.
  Result<raft::Persisted> Open();
  // Appends a Ready's hard state, snapshot and entries and syncs them.
  Status Save(const raft::Ready& ready);
  // The node's own snapshot (from Raft::Compact): synced; the entries it
  // covers are dropped.
  Status SaveCompaction(const raft::Snapshot& snapshot);
  // A new group's first state (Persisted::Bootstrap, or a founding
  // member's snapshot), saved before Raft runs on it so a restart reads it
  // back; returned for the driver.
  Result<raft::Persisted> Bootstrap(raft::Persisted first);

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return size_; }

 private:
  Result<raft::Persisted> Create();  // a new file: its header, synced
  Status Append(const std::string& records);
  Status MaybeRewrite();
  // Applies one record to the mirror; false when it does not fit.
  bool Apply(uint8_t type, std::string_view payload);
  std::string Describe() const;  // the whole mirror as records
  uint64_t MirrorBytes() const;

  store::FileSystem& fs_;
  std::string dir_, path_;
  store::Framing framing_;
  int fd_ = -1;
  uint64_t size_ = 0;
  raft::Persisted mirror_;  // what the file says, kept to rewrite it
};

}  // namespace warren::cluster
