// What the store does when the file system says no (tests/unit/store/
// faulty_file_system.h fails chosen calls): a failed fdatasync is never
// confirmed nor retried and trusted, the node is told to stop; a full disk
// holds confirms and reports itself blocked until writes go through again;
// reclaim never deletes a segment whose acks another segment still needs.
#include <fcntl.h>
#include <sys/file.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "store/store_fixture.h"

namespace warren::store::test {
namespace {

class FileFailureTest : public StoreTest {
 protected:
  // Publishes one persistent message to `queue` and writes it out.
  uint64_t PublishWritten(const std::string& queue, const std::string& body) {
    uint64_t at = Publish(queue, body).durable_at;
    EXPECT_GT(at, 0u);
    store_->WriteBuffered();
    return at;
  }

  // The data directory as another process would find it (after a crash).
  void Crash() {
    store_.release();
    broker_.release();
    posted_.clear();
    std::filesystem::remove(dir_ / ".lock");
  }
};

TEST_F(FileFailureTest, AFailedFdatasyncIsNeverConfirmedNorRetried) {
  OpenNode(/*fsync=*/true);
  DeclareQueue("q", true);
  // Linux may drop the dirty pages when fdatasync fails; a second call then
  // "succeeds" without the data. Only the first call fails here.
  fs_.Fail(Op::kFdatasync, EIO, 1, 1, ".seg");
  uint64_t first = PublishWritten("q", "lost to the disk");
  ASSERT_TRUE(WaitSyncedOrFatal(first));
  ASSERT_EQ(fatal().size(), 1u) << "confirmed although fdatasync failed";
  EXPECT_NE(fatal()[0].find("fdatasync"), std::string::npos) << fatal()[0];
  EXPECT_NE(fatal()[0].find(".seg"), std::string::npos) << fatal()[0];
  EXPECT_LT(store_->synced(), first);
  // Later writes are not confirmed either, although fdatasync works again.
  uint64_t second = PublishWritten("q", "after the failure");
  RunPosted();
  EXPECT_LT(store_->synced(), first);
  EXPECT_LT(store_->synced(), second);
  EXPECT_EQ(fatal().size(), 1u);
}

TEST_F(FileFailureTest, AFailedSyncOfTheDefinitionsStopsConfirms) {
  OpenNode(/*fsync=*/true);
  DeclareQueue("q", true);
  fs_.Fail(Op::kFdatasync, EIO, 1, 1, "definitions.log");
  uint64_t at = PublishWritten("q", "m");
  ASSERT_TRUE(WaitSyncedOrFatal(at));
  ASSERT_EQ(fatal().size(), 1u);
  EXPECT_NE(fatal()[0].find("definitions.log"), std::string::npos) << fatal()[0];
  EXPECT_LT(store_->synced(), at);
}

TEST_F(FileFailureTest, TheDefinitionsAreSyncedInTheRoundsAfterTheyWereWritten) {
  OpenNode(/*fsync=*/true);
  DeclareQueue("q", true);
  uint64_t first = PublishWritten("q", "a");
  ASSERT_TRUE(WaitSyncedOrFatal(first));
  ASSERT_TRUE(fatal().empty());
  // From here an fdatasync of definitions.log fails: a round that syncs it
  // stops the store.
  fs_.Fail(Op::kFdatasync, EIO, 1, 1, "definitions.log");
  uint64_t second = PublishWritten("q", "b");
  ASSERT_TRUE(WaitSyncedOrFatal(second));
  EXPECT_TRUE(fatal().empty()) << "a round synced definitions.log, unwritten since the last one";
  EXPECT_GE(store_->synced(), second);
  DeclareQueue("r", true);  // a record in definitions.log
  uint64_t third = PublishWritten("q", "c");
  ASSERT_TRUE(WaitSyncedOrFatal(third));
  ASSERT_EQ(fatal().size(), 1u) << "the round after a definition was written did not sync it";
  EXPECT_LT(store_->synced(), third);
}

TEST_F(FileFailureTest, AFailedSyncOfARotatedSegmentStopsConfirms) {
  OpenNode(/*fsync=*/true, 64 << 10);
  DeclareQueue("q", true);
  std::string first_segment = SegmentFiles().back();
  fs_.Fail(Op::kFdatasync, EIO, 1, 1, first_segment);
  uint64_t last = 0;
  // Enough to fill the first segment and move on to the next.
  for (int i = 0; i < 100; ++i) last = Publish("q", std::string(1024, 'x')).durable_at;
  store_->WriteBuffered();
  ASSERT_GE(SegmentFiles().size(), 2u);
  ASSERT_TRUE(WaitSyncedOrFatal(last));
  ASSERT_EQ(fatal().size(), 1u);
  EXPECT_NE(fatal()[0].find(first_segment), std::string::npos) << fatal()[0];
  EXPECT_LT(store_->synced(), last);
}

TEST_F(FileFailureTest, AFailedDirectorySyncForANewSegmentStopsConfirms) {
  OpenNode(/*fsync=*/true, 64 << 10);
  DeclareQueue("q", true);
  // The new segment's name must be durable before anything in it is.
  fs_.Fail(Op::kFsync, EIO, 1, 1, "messages");
  uint64_t last = 0;
  for (int i = 0; i < 100; ++i) last = Publish("q", std::string(1024, 'x')).durable_at;
  store_->WriteBuffered();
  ASSERT_TRUE(WaitSyncedOrFatal(last));
  ASSERT_EQ(fatal().size(), 1u);
  EXPECT_LT(store_->synced(), last);
}

TEST_F(FileFailureTest, AWriteErrorOtherThanAFullDiskStopsTheNode) {
  OpenNode(/*fsync=*/true);
  DeclareQueue("q", true);
  fs_.Fail(Op::kWrite, EIO, 1, 1, ".seg");
  uint64_t at = PublishWritten("q", "m");
  ASSERT_TRUE(WaitSyncedOrFatal(at));
  ASSERT_EQ(fatal().size(), 1u);
  EXPECT_LT(store_->synced(), at);
}

TEST_F(FileFailureTest, AFullDiskHoldsConfirmsAndBlocksUntilWritesGoThrough) {
  OpenNode(/*fsync=*/true);
  DeclareQueue("q", true);
  fs_.Fail(Op::kWrite, ENOSPC, 1, -1, ".seg");
  uint64_t at = PublishWritten("q", "waits for space");
  RunPosted();
  EXPECT_TRUE(store_->Poll()) << "a full disk must raise the disk alarm";
  EXPECT_NE(store_->blocked_reason().find("No space left"), std::string::npos)
      << store_->blocked_reason();
  EXPECT_LT(store_->synced(), at);
  EXPECT_TRUE(store_->Poll()) << "still full";
  fs_.Heal();
  EXPECT_FALSE(store_->Poll());
  ASSERT_TRUE(WaitSyncedOrFatal(at));
  EXPECT_TRUE(fatal().empty());
  EXPECT_GE(store_->synced(), at);
  CloseNode();
  OpenNode();
  EXPECT_EQ(Drain(*vhost().FindQueue("q")), std::vector<std::string>{"waits for space"});
}

TEST_F(FileFailureTest, ASegmentThatCannotBeCreatedIsRetried) {
  OpenNode(/*fsync=*/true, 64 << 10);
  DeclareQueue("q", true);
  fs_.Fail(Op::kOpen, ENOSPC, 1, -1, ".seg");
  uint64_t last = 0;
  std::vector<std::string> sent;
  for (int i = 0; i < 100; ++i) {
    sent.push_back(std::to_string(i) + std::string(1024, 'x'));
    last = Publish("q", sent.back()).durable_at;
  }
  store_->WriteBuffered();
  RunPosted();
  EXPECT_TRUE(store_->Poll());
  EXPECT_LT(store_->synced(), last);
  fs_.Heal();
  EXPECT_FALSE(store_->Poll());
  ASSERT_TRUE(WaitSyncedOrFatal(last));
  EXPECT_TRUE(fatal().empty());
  EXPECT_GE(store_->synced(), last);
  CloseNode();
  OpenNode(false, 64 << 10);
  EXPECT_EQ(Drain(*vhost().FindQueue("q")), sent);
}

TEST_F(FileFailureTest, AFullDiskHoldsConfirmsWhileADefinitionIsUnwritten) {
  OpenNode(/*fsync=*/true);
  fs_.Fail(Op::kWrite, ENOSPC, 1, -1, "definitions.log");
  DeclareQueue("q", true);  // its record cannot be written
  uint64_t at = PublishWritten("q", "m");
  // The message itself reaches the disk, but its queue's definition does not.
  while (store_->log().synced() < at) {
    ASSERT_TRUE(WaitPosted()) << "the sync thread never reported";
    RunPosted();
  }
  EXPECT_LT(store_->synced(), at) << "confirmed a message whose queue is not on disk";
  EXPECT_TRUE(store_->Poll());
  fs_.Heal();
  EXPECT_FALSE(store_->Poll());
  EXPECT_GE(store_->synced(), at);
  CloseNode();
  OpenNode();
  auto q = vhost().FindQueue("q");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(Drain(*q), std::vector<std::string>{"m"});
}

TEST_F(FileFailureTest, ADefinitionsWriteErrorStopsTheNode) {
  OpenNode(/*fsync=*/true);
  fs_.Fail(Op::kWrite, EIO, 1, 1, "definitions.log");
  DeclareQueue("q", true);
  ASSERT_EQ(fatal().size(), 1u);
  EXPECT_NE(fatal()[0].find("definitions.log"), std::string::npos) << fatal()[0];
}

// Segment 1 holds messages whose acks are in a later segment. If segment 1
// cannot be deleted, the later one must not be deleted either, or those
// messages come back after a restart.
TEST_F(FileFailureTest, ASegmentThatCannotBeDeletedKeepsTheAcksForItsMessages) {
  OpenNode(false, 64 << 10);
  auto q = DeclareQueue("q", true);
  std::string first = SegmentFiles().front();
  fs_.Fail(Op::kUnlink, EIO, 1, -1, first);
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 100; ++i) Publish("q", std::string(1024, 'a' + round));
    RunPosted();
    EXPECT_EQ(Drain(*q).size(), 100u);
  }
  Publish("q", "last");
  RunPosted();
  EXPECT_GT(fs_.failed(Op::kUnlink), 0);
  CloseNode();
  fs_.Heal();
  OpenNode(false, 64 << 10);
  EXPECT_EQ(Drain(*vhost().FindQueue("q")), std::vector<std::string>{"last"});
  RunPosted();
  EXPECT_LE(SegmentFiles().size(), 2u) << "retried once the file system healed";
}

// A dead segment's acks for a message in a live older segment are copied
// forward before it goes; if it cannot be read, it must stay.
TEST_F(FileFailureTest, ASegmentWhoseAcksCannotBeCarriedForwardStays) {
  OpenNode(false, 64 << 10);
  DeclareQueue("keep", true);
  auto q = DeclareQueue("q", true);
  auto filler = DeclareQueue("filler", true);
  Publish("keep", "pinned");       // keeps segment 1 alive
  Publish("q", "acked");           // in segment 1, acked from a later one
  for (int i = 0; i < 100; ++i) Publish("filler", std::string(1024, 'f'));
  RunPosted();
  EXPECT_EQ(Drain(*q), std::vector<std::string>{"acked"});  // the ack lands in segment 2
  EXPECT_EQ(Drain(*filler).size(), 100u);
  ASSERT_EQ(SegmentFiles().size(), 2u);
  // Move on until segment 2 is dead; its ack must be carried forward, which
  // means reading it.
  fs_.Fail(Op::kOpen, EMFILE, 1, -1, SegmentFiles().back());
  for (int i = 0; i < 100; ++i) Publish("filler", std::string(1024, 'g'));
  EXPECT_EQ(Drain(*filler).size(), 100u);
  RunPosted();
  Publish("filler", "more");  // and what the log writes next is durable
  RunPosted();
  fs_.Heal();
  Crash();
  OpenNode(false, 64 << 10);
  EXPECT_EQ(vhost().FindQueue("q")->ready_count(), 0u) << "an acked message came back";
  EXPECT_EQ(Drain(*vhost().FindQueue("keep")), std::vector<std::string>{"pinned"});
}

// Recovery keeps a copy of damaged bytes before anything can delete them; a
// segment whose damage could not be copied is never reclaimed.
TEST_F(FileFailureTest, ADamagedSegmentWithNoRoomForACopyIsKept) {
  OpenNode();
  DeclareQueue("q", true);
  for (int i = 0; i < 10; ++i) Publish("q", "message-" + std::to_string(i));
  CloseNode();
  std::filesystem::path seg = dir_ / "messages" / SegmentFiles().front();
  std::string bytes;
  {
    std::ifstream in(seg, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  size_t at = bytes.find("message-4");
  ASSERT_NE(at, std::string::npos);
  bytes[at] ^= 0x01;
  std::ofstream(seg, std::ios::binary | std::ios::trunc) << bytes;
  fs_.Fail(Op::kOpen, ENOSPC, 1, -1, "damaged");
  OpenNode();
  EXPECT_EQ(Drain(*vhost().FindQueue("q")).size(), 9u);
  Publish("q", "moves the log on");
  RunPosted();
  EXPECT_TRUE(std::filesystem::exists(seg)) << "the only copy of the damaged bytes was deleted";
}

TEST_F(FileFailureTest, AFailedDirectorySyncAfterCompactionRefusesTheStart) {
  OpenNode();
  CloseNode();
  // Compaction: fsync of definitions.log.tmp, then of the directory.
  fs_.Fail(Op::kFsync, EIO, 2, 1);
  Status s = TryOpenNode();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().text.find("Input/output error"), std::string::npos) << s.error().text;
}

TEST_F(FileFailureTest, ALockThatFailsForAnotherReasonSaysWhy) {
  fs_.Fail(Op::kFlock, ENOLCK, 1, 1, ".lock");
  Status s = TryOpenNode();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().text.find("in use by another node"), std::string::npos) << s.error().text;
  EXPECT_NE(s.error().text.find(std::strerror(ENOLCK)), std::string::npos) << s.error().text;
}

}  // namespace
}  // namespace warren::store::test
