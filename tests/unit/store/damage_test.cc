// Damaged bytes in the message log: recovery skips the damaged records,
// resynchronises on the next intact one, keeps a copy of what it skipped
// under <data_dir>/damaged, and cannot be fooled into reading records that a
// publisher hid in a message body.
#include <zlib.h>

#include <fstream>
#include <sstream>

#include "amqp/properties.h"
#include "amqp/wire.h"
#include "broker/store/message_log.h"
#include "broker/store/record.h"
#include "store/store_fixture.h"

namespace warren::store::test {
namespace {

namespace fs = std::filesystem;

// The body of message `i`: a unique, fixed-width prefix and padding.
std::string Body(int i, size_t size = 200) {
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "<%06d>", i);
  return prefix + std::string(size - 8, '.');
}

class DamageTest : public StoreTest {
 protected:
  // Publishes `n` equal-sized persistent messages to durable queue "q".
  void Fill(int n, size_t size = 200) {
    DeclareQueue("q", true);
    for (int i = 0; i < n; ++i) Publish("q", Body(i, size));
  }

  std::vector<int> Served() {
    std::vector<int> out;
    for (const std::string& body : Drain(*vhost().FindQueue("q")))
      out.push_back(std::stoi(body.substr(1, 6)));
    return out;
  }

  static std::vector<int> AllBut(int n, std::initializer_list<int> lost) {
    std::vector<int> out;
    for (int i = 0; i < n; ++i)
      if (std::find(lost.begin(), lost.end(), i) == lost.end()) out.push_back(i);
    return out;
  }

  fs::path Segment() const { return dir_ / "messages" / SegmentFiles().front(); }

  // Where message i's body starts in `bytes`.
  static size_t BodyAt(const std::string& bytes, int i) {
    size_t at = bytes.find(Body(i).substr(0, 8));
    EXPECT_NE(at, std::string::npos) << i;
    return at;
  }

  void Overwrite(const fs::path& p, size_t at, std::string_view with) {
    std::string bytes = Slurp(p);
    ASSERT_LE(at + with.size(), bytes.size());
    bytes.replace(at, with.size(), with);
    Spit(p, bytes);
  }

  std::vector<fs::path> Copies() const {
    std::vector<fs::path> out;
    if (fs::is_directory(dir_ / "damaged"))
      for (const auto& e : fs::directory_iterator(dir_ / "damaged")) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }

  uint64_t QueueId() const { return store_->definitions_model().queues.at({"/", "q"}).id; }
};

TEST_F(DamageTest, FourCorruptBytesInAMessageBodyLoseOnlyThatMessage) {
  OpenNode();
  Fill(1000);
  CloseNode();
  fs::path seg = Segment();
  std::string before = Slurp(seg);
  size_t at = BodyAt(before, 500) + 100;
  Overwrite(seg, at, "\xde\xad\xbe\xef");
  std::string damaged = Slurp(seg);

  OpenNode();
  EXPECT_EQ(Served(), AllBut(1000, {500}));
  // The segment is left as it was, and the damaged record has a copy.
  EXPECT_TRUE(Slurp(seg) == damaged) << "the segment was changed";
  auto copies = Copies();
  ASSERT_EQ(copies.size(), 1u);
  std::string copy = Slurp(copies[0]);
  EXPECT_NE(copy.find("\xde\xad\xbe\xef"), std::string::npos);
  EXPECT_NE(copy.find(Body(500).substr(0, 8)), std::string::npos);
  EXPECT_LT(copy.size(), 300u) << "more than the one damaged record";
  EXPECT_NE(damaged.find(copy), std::string::npos) << "not a copy of the damaged bytes";
}

TEST_F(DamageTest, ADamagedRecordHeaderLosesOnlyThatRecord) {
  OpenNode();
  Fill(1000);
  CloseNode();
  fs::path seg = Segment();
  std::string bytes = Slurp(seg);
  // Record 500 starts right after body 499 ends; its length field is 8
  // bytes in: claim it runs almost to the end of the file.
  size_t record = BodyAt(bytes, 499) + Body(499).size();
  uint32_t length = static_cast<uint32_t>(bytes.size() - record - 20);
  Overwrite(seg, record + 8, std::string_view(reinterpret_cast<const char*>(&length), 4));
  OpenNode();
  EXPECT_EQ(Served(), AllBut(1000, {500}));
  EXPECT_EQ(Copies().size(), 1u);
}

TEST_F(DamageTest, RecordsHiddenInABodyAreNotReadWhenResynchronising) {
  OpenNode();
  DeclareQueue("q", true);
  Publish("q", Body(0));  // message id 1: the planted ack's target
  // The hostile body: an ack for message 1 and a publish of a forged message,
  // each framed as the old format and as the salted format with a guessed
  // salt, tiling the body to its end so they chain into the next record.
  std::string forged_props;
  amqp::EncodeProperties(amqp::BasicProperties{}, forged_props);
  std::string settle = EncodeMark(QueueId(), 1, 1);
  std::string forge =
      EncodePublish(1000, 0, -1, 0, {QueueId()}, "", "q", forged_props, "<999999>forged");
  std::string planted;
  for (const Framing& f : {Framing::Legacy(), Framing::Salted(0), Framing::Salted(~0ull)}) {
    planted += MakeRecord(f, static_cast<uint8_t>(LogRecord::kSettle), settle);
    planted += MakeRecord(f, static_cast<uint8_t>(LogRecord::kPublish), forge);
  }
  Publish("q", "<000001>" + planted);
  for (int i = 2; i < 10; ++i) Publish("q", Body(i));
  CloseNode();

  fs::path seg = Segment();
  std::string bytes = Slurp(seg);
  // Damage the hostile record's header (it starts right after body 0), so
  // resynchronising has to look through its body.
  size_t record = BodyAt(bytes, 0) + Body(0).size();
  Overwrite(seg, record + 4, "\xff\xff\xff\xff");
  OpenNode();
  EXPECT_EQ(Served(), AllBut(10, {1})) << "a planted record was read";
}

TEST_F(DamageTest, ATornTailOfTheNewestSegmentIsTruncatedAndKept) {
  OpenNode();
  Fill(100);
  CloseNode();
  fs::path seg = Segment();
  std::string bytes = Slurp(seg);
  // Half of a record appended: a write the crash cut short.
  size_t record = BodyAt(bytes, 98) + Body(98).size();
  std::string torn = bytes.substr(record, 40);
  Spit(seg, bytes + torn);
  OpenNode();
  EXPECT_EQ(Served(), AllBut(100, {}));
  EXPECT_EQ(fs::file_size(seg), bytes.size());
  auto copies = Copies();
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(Slurp(copies[0]), torn);
}

TEST_F(DamageTest, DamageInAnOlderSegmentLeavesItsFileAlone) {
  OpenNode(false, 64 << 10);
  Fill(600);  // several segments
  CloseNode();
  ASSERT_GE(SegmentFiles().size(), 3u);
  fs::path seg = dir_ / "messages" / SegmentFiles()[0];
  std::string bytes = Slurp(seg);
  // The last record of the oldest segment: nothing intact follows it there.
  size_t last_body = bytes.rfind("<0");
  Overwrite(seg, last_body + 50, "????");
  int lost = std::stoi(bytes.substr(last_body + 1, 6));
  std::string damaged = Slurp(seg);
  OpenNode(false, 64 << 10);
  EXPECT_EQ(Served(), AllBut(600, {lost}));
  EXPECT_TRUE(Slurp(seg) == damaged) << "only the newest segment's tail may be cut";
  EXPECT_EQ(Copies().size(), 1u);
}

TEST_F(DamageTest, ARestartKeepsOneCopyOfTheSameDamage) {
  OpenNode();
  Fill(100);
  CloseNode();
  fs::path seg = Segment();
  Overwrite(seg, BodyAt(Slurp(seg), 50) + 10, "XXXX");
  OpenNode();
  Publish("q", Body(100));  // keeps the damaged segment alive across restarts
  CloseNode();
  OpenNode();
  EXPECT_EQ(Copies().size(), 1u);
  EXPECT_EQ(Served(), AllBut(101, {50}));
}

// Segments written before per-segment salts are still read; damage in one
// ends what is read of it (nothing can tell a planted record from a real one
// there), and the rest is kept as a copy.
class LegacySegmentTest : public DamageTest {
 protected:
  // Replaces the message log by one old-format segment for queue "q".
  std::string WriteLegacySegment(uint64_t queue, int n) {
    std::string props;
    amqp::EncodeProperties(amqp::BasicProperties{}, props);
    std::string out;
    for (int i = 0; i < n; ++i)
      out += LegacyRecord(static_cast<uint8_t>(LogRecord::kPublish),
                          EncodePublish(i + 1, 0, -1, 0, {queue}, "", "q", props, Body(i)));
    out += LegacyRecord(static_cast<uint8_t>(LogRecord::kSettle), EncodeMark(queue, 1, 1));
    out += LegacyRecord(static_cast<uint8_t>(LogRecord::kDeliver), EncodeMark(queue, 2, 1));
    for (const auto& f : SegmentFiles()) fs::remove(dir_ / "messages" / f);
    Spit(dir_ / "messages" / "00000000000000000001.seg", out);
    return out;
  }
};

TEST_F(LegacySegmentTest, AnOldSegmentIsRead) {
  OpenNode();
  DeclareQueue("q", true);
  uint64_t queue = QueueId();
  CloseNode();
  WriteLegacySegment(queue, 5);
  OpenNode();
  std::vector<std::pair<std::string, bool>> got;
  while (auto e = vhost().FindQueue("q")->Get(true))
    got.emplace_back(e->message->body, e->redelivered);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, bool>>{
                     {Body(1), true}, {Body(2), false}, {Body(3), false}, {Body(4), false}}));
  EXPECT_TRUE(Copies().empty());
}

TEST_F(LegacySegmentTest, DamageInAnOldSegmentEndsItAndKeepsTheRest) {
  OpenNode();
  DeclareQueue("q", true);
  uint64_t queue = QueueId();
  CloseNode();
  std::string bytes = WriteLegacySegment(queue, 10);
  fs::path seg = dir_ / "messages" / "00000000000000000001.seg";
  size_t at = BodyAt(bytes, 4) + 20;
  Overwrite(seg, at, "!!!!");
  std::string damaged = Slurp(seg);
  OpenNode();
  // The ack and the delivery mark lay after the damage: message 0 is back.
  EXPECT_EQ(Served(), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_TRUE(Slurp(seg) == damaged) << "the segment was changed";
  auto copies = Copies();
  ASSERT_EQ(copies.size(), 1u);
  std::string copy = Slurp(copies[0]);
  EXPECT_TRUE(damaged.substr(damaged.size() - copy.size()) == copy) << "not the rest of the file";
  EXPECT_NE(copy.find(Body(9).substr(0, 8)), std::string::npos);
}

}  // namespace
}  // namespace warren::store::test
