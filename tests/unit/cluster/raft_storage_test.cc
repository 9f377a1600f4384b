// The Raft log on disk: what a Ready saves comes back at the next start,
// suffixes are replaced, snapshots and compactions drop what they cover, a
// torn last record is cut, other damage refuses start, a failed sync is
// reported, and a file grown mostly stale is rewritten.
#include "broker/cluster/raft_storage.h"

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../../fuzz/store_fuzz_input.h"
#include "store/faulty_file_system.h"
#include "fuzz_seeds.h"
#include "temp_dir.h"

namespace warren::cluster {
namespace {

namespace fs = std::filesystem;
using raft::Entry;
using raft::EntryType;

Entry E(raft::Index index, raft::Term term, std::string payload = "cmd") {
  return Entry{index, term, EntryType::kCommand, std::move(payload)};
}

raft::Snapshot Snap(raft::Index index, raft::Term term, std::string data) {
  raft::Snapshot s;
  s.meta.index = index;
  s.meta.term = term;
  s.meta.config.voters = {1, 2, 3};
  s.data = std::move(data);
  return s;
}

class RaftStorageTest : public ::testing::Test {
 protected:

  // What a fresh start reads back.
  Result<raft::Persisted> Reopen() {
    RaftStorage again(store::FileSystem::Default(), dir_.string());
    return again.Open();
  }
  std::string Path() const { return (dir_ / "raft.log").string(); }

  testkit::TempDir root_{"raftlog"};
  fs::path dir_ = root_ / "cluster";
};

TEST_F(RaftStorageTest, AFreshFileIsEmptyAndWhatASaveWroteComesBack) {
  RaftStorage storage(store::FileSystem::Default(), dir_.string());
  Result<raft::Persisted> first = storage.Open();
  ASSERT_TRUE(first.ok()) << first.error().text;
  EXPECT_EQ(first->hard_state, raft::HardState{});
  EXPECT_TRUE(first->entries.empty());
  raft::Ready ready;
  ready.hard_state = raft::HardState{3, 2};
  ready.entries = {E(1, 1), E(2, 3, std::string("\0\xff", 2))};
  ASSERT_TRUE(storage.Save(ready).ok());
  Result<raft::Persisted> back = Reopen();
  ASSERT_TRUE(back.ok()) << back.error().text;
  EXPECT_EQ(back->hard_state, (raft::HardState{3, 2}));
  EXPECT_EQ(back->entries, ready.entries);
  EXPECT_EQ(fs::status(Path()).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(RaftStorageTest, EntriesReplaceTheStoredSuffixFromTheirIndex) {
  RaftStorage storage(store::FileSystem::Default(), dir_.string());
  ASSERT_TRUE(storage.Open().ok());
  raft::Ready a;
  a.entries = {E(1, 1), E(2, 1), E(3, 1), E(4, 1), E(5, 1)};
  ASSERT_TRUE(storage.Save(a).ok());
  raft::Ready b;
  b.entries = {E(3, 2, "new"), E(4, 2, "new")};
  ASSERT_TRUE(storage.Save(b).ok());
  Result<raft::Persisted> back = Reopen();
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->entries,
            (std::vector<Entry>{E(1, 1), E(2, 1), E(3, 2, "new"), E(4, 2, "new")}));
}

TEST_F(RaftStorageTest, ALeadersSnapshotReplacesEveryEntryAndACompactionKeepsTheLaterOnes) {
  RaftStorage storage(store::FileSystem::Default(), dir_.string());
  ASSERT_TRUE(storage.Open().ok());
  raft::Ready a;
  a.entries = {E(1, 1), E(2, 1), E(3, 1), E(4, 1)};
  ASSERT_TRUE(storage.Save(a).ok());
  ASSERT_TRUE(storage.SaveCompaction(Snap(2, 1, "state at 2")).ok());
  Result<raft::Persisted> back = Reopen();
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->snapshot, Snap(2, 1, "state at 2"));
  EXPECT_EQ(back->entries, (std::vector<Entry>{E(3, 1), E(4, 1)}));

  raft::Ready b;
  b.snapshot = Snap(10, 4, "state at 10");
  ASSERT_TRUE(storage.Save(b).ok());
  back = Reopen();
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->snapshot, Snap(10, 4, "state at 10"));
  EXPECT_TRUE(back->entries.empty());
}

TEST_F(RaftStorageTest, ATornLastRecordIsCutAndEverythingBeforeItKept) {
  {
    RaftStorage storage(store::FileSystem::Default(), dir_.string());
    ASSERT_TRUE(storage.Open().ok());
    raft::Ready a;
    a.entries = {E(1, 1)};
    ASSERT_TRUE(storage.Save(a).ok());
    raft::Ready b;
    b.entries = {E(2, 1, std::string(100, 'x'))};
    ASSERT_TRUE(storage.Save(b).ok());
  }
  uintmax_t size = fs::file_size(Path());
  fs::resize_file(Path(), size - 30);  // the crash cut the last write short
  Result<raft::Persisted> back = Reopen();
  ASSERT_TRUE(back.ok()) << back.error().text;
  EXPECT_EQ(back->entries, std::vector<Entry>{E(1, 1)});
  EXPECT_LT(fs::file_size(Path()), size - 30) << "the torn bytes are gone";
  EXPECT_TRUE(Reopen().ok());
}

TEST_F(RaftStorageTest, AFileWhoseCreationWasCutShortIsMadeAgain) {
  {
    RaftStorage storage(store::FileSystem::Default(), dir_.string());
    ASSERT_TRUE(storage.Open().ok());
  }
  fs::resize_file(Path(), 20);  // the crash came while the header was written
  RaftStorage storage(store::FileSystem::Default(), dir_.string());
  Result<raft::Persisted> back = storage.Open();
  ASSERT_TRUE(back.ok()) << back.error().text;
  EXPECT_TRUE(back->entries.empty());
  raft::Ready a;
  a.entries = {E(1, 1)};
  ASSERT_TRUE(storage.Save(a).ok());
  back = Reopen();
  ASSERT_TRUE(back.ok()) << back.error().text;
  EXPECT_EQ(back->entries, std::vector<Entry>{E(1, 1)});
}

TEST_F(RaftStorageTest, DamageBeforeTheEndRefusesStartNamingTheOffset) {
  {
    RaftStorage storage(store::FileSystem::Default(), dir_.string());
    ASSERT_TRUE(storage.Open().ok());
    raft::Ready a;
    a.hard_state = raft::HardState{5, 1};
    a.entries = {E(1, 1), E(2, 5)};
    ASSERT_TRUE(storage.Save(a).ok());
  }
  {
    std::fstream f(Path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(store::kFileHeader) + 14);
    f.put('\x7f');
  }
  Result<raft::Persisted> back = Reopen();
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().text, Path() + ": damaged record at offset 64; refusing to start "
                                        "(docs/cluster.md)");
}

TEST_F(RaftStorageTest, AFailedSyncIsReported) {
  store::test::FaultyFileSystem faulty;
  RaftStorage storage(faulty, dir_.string());
  ASSERT_TRUE(storage.Open().ok());
  faulty.Fail(store::test::Op::kFdatasync, EIO);
  raft::Ready a;
  a.hard_state = raft::HardState{1, 1};
  Status s = storage.Save(a);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().text.find("fdatasync"), std::string::npos) << s.error().text;
}

TEST_F(RaftStorageTest, AFileMostlyStaleIsRewrittenToWhatItDescribes) {
  RaftStorage storage(store::FileSystem::Default(), dir_.string());
  ASSERT_TRUE(storage.Open().ok());
  std::string big(64 * 1024, 'p');
  raft::Index index = 0;
  for (int round = 0; round < 40; ++round) {
    raft::Ready r;
    for (int i = 0; i < 2; ++i) r.entries.push_back(E(++index, 1, big));
    ASSERT_TRUE(storage.Save(r).ok());
    ASSERT_TRUE(storage.SaveCompaction(Snap(index - 1, 1, "small state")).ok());
  }
  EXPECT_LT(storage.file_size(), uint64_t{2} << 20) << "40 rounds wrote over 5 MiB";
  Result<raft::Persisted> back = Reopen();
  ASSERT_TRUE(back.ok()) << back.error().text;
  EXPECT_EQ(back->snapshot, Snap(index - 1, 1, "small state"));
  EXPECT_EQ(back->entries, std::vector<Entry>{E(index, 1, big)});
}

}  // namespace
}  // namespace warren::cluster

namespace warren::cluster {
namespace {

// The raft_log fuzzer's seeds (tests/fuzz/corpus-raft_log) are logs the
// storage reads as a node's start does: the framed ones open, to entries
// that follow the snapshot, and the raw one is refused.
TEST(RaftLogSeedsTest, TheFramedSeedsOpenAndTheRawOneIsRefused) {
  testkit::TempDir root("raft-seeds");
  fs::path dir = root.path();
  int opened = 0;
  for (const auto& [path, input] : testkit::FuzzSeeds("corpus-raft_log")) {
    store::fuzz::PlaceFile(dir, dir / "cluster" / "raft.log",
                           reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                           store::FileKind::kRaft);
    Result<raft::Persisted> p =
        RaftStorage(store::FileSystem::Default(), (dir / "cluster").string()).Open();
    if (path.filename() == "raw_bytes") {
      EXPECT_FALSE(p.ok());
      continue;
    }
    ASSERT_TRUE(p.ok()) << path << ": " << p.error().text;
    raft::Index next = p->snapshot.meta.index + 1;
    for (const Entry& e : p->entries) EXPECT_EQ(e.index, next++) << path;
    ++opened;
  }
  EXPECT_EQ(opened, 5);
}

}  // namespace
}  // namespace warren::cluster
