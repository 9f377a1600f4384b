// libFuzzer target for the cluster's Raft log read back at start
// (cluster/raft_storage.h): the input becomes DATA_DIR/cluster/raft.log
// (store_fuzz_input.h: raw bytes, or records framed so that they pass their
// CRC) and RaftStorage::Open replays it as a node's start does. Properties
// checked (any failure aborts):
//   - no crash, leak or undefined behaviour, whatever the bytes;
//   - what Open accepts is a log Raft can run on: entries follow each other
//     from just after the snapshot, with terms that never go backwards past
//     the hard state's term;
//   - it opens again to the same state (a torn tail, once cut, stays cut).
// Run with `make fuzz` (README.md).
#include <cstdint>
#include <filesystem>

#include "broker/cluster/raft_storage.h"
#include "fuzz_check.h"
#include "store_fuzz_input.h"

namespace {

using namespace warren;
namespace fs = std::filesystem;

const fs::path& Dir() { return fuzzing::ScratchDir("raft_log"); }

bool Same(const raft::Persisted& a, const raft::Persisted& b) {
  return a.hard_state == b.hard_state && a.snapshot == b.snapshot && a.entries == b.entries;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fs::path dir = Dir() / "cluster";
  store::fuzz::PlaceFile(Dir(), dir / "raft.log", data, size, store::FileKind::kRaft);
  Result<raft::Persisted> first =
      cluster::RaftStorage(store::FileSystem::Default(), dir.string()).Open();
  if (!first.ok()) return 0;
  raft::Index expected = first->snapshot.meta.index + 1;
  for (const raft::Entry& e : first->entries) {
    FUZZ_CHECK(e.index == expected);
    ++expected;
  }
  Result<raft::Persisted> again =
      cluster::RaftStorage(store::FileSystem::Default(), dir.string()).Open();
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(Same(first.value(), again.value()));
  return 0;
}
