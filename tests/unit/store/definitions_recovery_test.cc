// definitions.log never loses a definition silently: a record that does not
// decode or damage with intact records after it refuses the start with one
// line; deep tables the wire would refuse are still read back; what cannot be
// read back is never written (limits.h); and a damaged tail holding
// record-like bytes does not turn into definitions.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "amqp/wire.h"
#include "broker/store/definitions.h"
#include "broker/store/definitions_records.h"
#include "broker/store/limits.h"
#include "broker/store/record.h"
#include "store/store_fixture.h"

namespace warren::store {
namespace {

namespace fs = std::filesystem;
using test::LegacyRecord;
using test::Slurp;
using test::Spit;

// A table nested `depth` levels deep (the outermost is level 1).
amqp::FieldTable Nested(int depth) {
  amqp::FieldTable t;
  t.Set("leaf", amqp::FieldValue::Long(depth));
  for (int i = 1; i < depth; ++i) {
    amqp::FieldTable outer;
    outer.Set("level" + std::to_string(i), amqp::FieldValue::Table(std::move(t)));
    t = std::move(outer);
  }
  return t;
}

class DefinitionsRecoveryTest : public ::testing::Test {
 protected:
  DefinitionsRecoveryTest()
      : dir_(fs::temp_directory_path() /
             ("warren-defs-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~DefinitionsRecoveryTest() override { fs::remove_all(dir_); }

  std::unique_ptr<DefinitionsLog> Open() {
    auto log = std::make_unique<DefinitionsLog>();
    bool fresh = false;
    Status s = log->Open(dir_.string(), (dir_ / "damaged").string(), fresh);
    EXPECT_TRUE(s.ok()) << s.error().text;
    return log;
  }

  std::string OpenRefused() {
    DefinitionsLog log;
    bool fresh = false;
    Status s = log.Open(dir_.string(), (dir_ / "damaged").string(), fresh);
    EXPECT_FALSE(s.ok()) << "opened";
    return s.ok() ? "" : s.error().text;
  }

  fs::path file() const { return dir_ / "definitions.log"; }
  fs::path dir_;
};

TEST_F(DefinitionsRecoveryTest, ATableNestedDeeperThanTheWireAllowsIsReadBack) {
  amqp::FieldTable deep = Nested(100);
  ASSERT_GT(100, amqp::kMaxTableDepth);
  {
    auto log = Open();
    log->PutVHost("/");
    log->PutQueue({"/", "deep", log->NewQueueId(), false, deep});
    log->PutQueue({"/", "after", log->NewQueueId(), false, {}});
  }
  auto log = Open();
  ASSERT_EQ(log->model().queues.count({"/", "deep"}), 1u) << "the queue vanished";
  EXPECT_EQ(log->model().queues.at({"/", "deep"}).arguments, deep);
  EXPECT_EQ(log->model().queues.count({"/", "after"}), 1u);
}

TEST_F(DefinitionsRecoveryTest, ARecordThatDoesNotDecodeRefusesTheStart) {
  // Written by hand in the old format: a queue whose arguments hold a value
  // of unknown type 'Z', between two good records.
  std::string q = defs::Strings({"/", "broken"});
  amqp::Writer w(q);
  w.U64(7);
  w.U8(0);
  w.U32(6);  // table: one entry "k" of type 'Z'
  w.ShortStr("k");
  w.U8('Z');
  w.U32(0);
  std::string bytes = LegacyRecord(defs::kVHostPut, defs::Strings({"/"}));
  size_t offset = bytes.size();
  bytes += LegacyRecord(defs::kQueuePut, q);
  bytes += LegacyRecord(defs::kQueuePut, defs::EncodeQueue({"/", "fine", 8, false, {}}));
  Spit(file(), bytes);
  std::string error = OpenRefused();
  EXPECT_NE(error.find("definitions.log"), std::string::npos) << error;
  EXPECT_NE(error.find("queue record (vhost '/', name 'broken')"), std::string::npos) << error;
  EXPECT_NE(error.find("offset " + std::to_string(offset)), std::string::npos) << error;
  EXPECT_NE(error.find("does not decode: a field table in it does not decode"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("backup"), std::string::npos) << "says what to do: " << error;
  EXPECT_EQ(Slurp(file()), bytes) << "the file was changed";
}

// The records added for topic permissions and user limits, cut short or
// claiming more than they hold, are refused as every other record is.
TEST_F(DefinitionsRecoveryTest, CutTopicPermissionAndUserLimitRecordsRefuseTheStart) {
  std::string whole = defs::EncodeTopicPermission({"app", "/", "amq.topic", "^a", "^b"});
  std::string limits = defs::EncodeUser({"app", "hash", {}, {{"max-channels", 3}}});
  std::string endless = defs::EncodeUser({"app", "hash", {}});
  amqp::Writer(endless).U32(0xFFFFFFFF);  // that many limits, and none follow
  for (const auto& [type, payload, named] :
       {std::tuple{defs::kTopicPermissionPut, whole.substr(0, whole.size() - 1),
                   std::string("topic permission record (user 'app', vhost '/')")},
        {defs::kUserPut, limits.substr(0, limits.size() - 3), std::string("user record (user 'app')")},
        {defs::kUserPut, endless, std::string("user record (user 'app')")}}) {
    SCOPED_TRACE(named);
    std::string bytes = LegacyRecord(defs::kVHostPut, defs::Strings({"/"}));
    bytes += LegacyRecord(type, payload);
    bytes += LegacyRecord(defs::kVHostPut, defs::Strings({"after"}));
    Spit(file(), bytes);
    std::string error = OpenRefused();
    EXPECT_NE(error.find(named), std::string::npos) << error;
    EXPECT_NE(error.find("it ends before its fields do"), std::string::npos) << error;
    EXPECT_EQ(Slurp(file()), bytes) << "the file was changed";
  }
}

TEST_F(DefinitionsRecoveryTest, ATableTooDeepToReadRefusesTheStartAndSaysSo) {
  // Written by an older version that did not check nesting.
  Spit(file(), LegacyRecord(defs::kVHostPut, defs::Strings({"/"})) +
                   LegacyRecord(defs::kQueuePut,
                                defs::EncodeQueue({"/", "deep", 3, false, Nested(200)})));
  std::string error = OpenRefused();
  EXPECT_NE(error.find("name 'deep'"), std::string::npos) << error;
  EXPECT_NE(error.find("nested deeper than the 128 levels the store reads"), std::string::npos)
      << error;
}

TEST_F(DefinitionsRecoveryTest, DamageWithIntactRecordsAfterItRefusesTheStart) {
  {
    auto log = Open();
    log->PutVHost("/");
    log->PutUser({"alice", "hash", {}});
    log->PutUser({"bob-the-deleted", "hash", {}});
    log->DeleteUser("bob-the-deleted");
    log->PutQueue({"/", "q", log->NewQueueId(), false, {}});
  }
  // After compaction: no record of bob. Damage alice's record.
  std::string bytes = Slurp(file());
  size_t at = bytes.find("alice");
  ASSERT_NE(at, std::string::npos);
  bytes[at] ^= 0x01;
  Spit(file(), bytes);
  std::string error = OpenRefused();
  EXPECT_NE(error.find("damaged bytes at offset"), std::string::npos) << error;
  EXPECT_NE(error.find("intact records after them"), std::string::npos) << error;
  EXPECT_EQ(Slurp(file()), bytes) << "the file was changed";
}

TEST_F(DefinitionsRecoveryTest, ADeleteIsNeverSkipped) {
  {
    auto log = Open();
    log->PutVHost("/");
    log->PutUser({"mallory", "hash", {"administrator"}});
  }
  {
    auto log = Open();
    log->DeleteUser("mallory");  // appended after the compacted part
    log->PutVHost("later");
  }
  std::string bytes = Slurp(file());
  size_t at = bytes.rfind("mallory");
  bytes[at + 2] ^= 0x40;  // the deletion's record
  Spit(file(), bytes);
  EXPECT_NE(OpenRefused().find("could lose a definition or bring back a deleted user"),
            std::string::npos);
}

TEST_F(DefinitionsRecoveryTest, ATornTailIsLeftOutAndKept) {
  {
    auto log = Open();
    log->PutVHost("kept");
    log->PutVHost("torn-off");
  }
  std::string bytes = Slurp(file());
  Spit(file(), bytes.substr(0, bytes.size() - 3));
  auto log = Open();
  EXPECT_EQ(log->model().vhost_names(), (std::set<std::string>{"kept"}));
  ASSERT_TRUE(fs::is_directory(dir_ / "damaged"));
  int copies = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "damaged")) {
    ++copies;
    EXPECT_NE(Slurp(e.path()).find("torn-"), std::string::npos);
  }
  EXPECT_EQ(copies, 1);
}

// A queue's arguments can hold any bytes a client likes, such as a record
// making a user an administrator. Cut the file inside that queue's record
// (a torn tail): what is left must not be read as records.
TEST_F(DefinitionsRecoveryTest, RecordsHiddenInATornTailAreNotRead) {
  std::string planted;
  for (const Framing& f : {Framing::Legacy(), Framing::Salted(0), Framing::Salted(42)})
    planted += MakeRecord(f, defs::kUserPut, defs::EncodeUser({"evil", "hash", {"administrator"}}));
  amqp::FieldTable args;
  args.Set("x-note", amqp::FieldValue{'x', planted});
  {
    auto log = Open();
    log->PutVHost("/");
    log->PutQueue({"/", "innocent", log->NewQueueId(), false, args});
  }
  std::string bytes = Slurp(file());
  size_t cut = bytes.find("x-note");
  ASSERT_NE(cut, std::string::npos);
  Spit(file(), bytes.substr(0, cut + 10));
  auto log = Open();
  EXPECT_EQ(log->model().users.count("evil"), 0u) << "a planted record was read";
  EXPECT_EQ(log->model().queues.count({"/", "innocent"}), 0u);
}

TEST_F(DefinitionsRecoveryTest, AnOldFileIsReadAndRewrittenSalted) {
  amqp::FieldTable args;
  args.Set("x-max-length", amqp::FieldValue::Long(5));
  std::string bytes = LegacyRecord(defs::kNextQueueId, defs::EncodeNumber(9)) +
                      LegacyRecord(defs::kVHostPut, defs::Strings({"/"})) +
                      LegacyRecord(defs::kQueuePut, defs::EncodeQueue({"/", "q", 8, false, args}));
  Spit(file(), bytes);
  {
    auto log = Open();
    ASSERT_EQ(log->model().queues.count({"/", "q"}), 1u);
    EXPECT_EQ(log->model().queues.at({"/", "q"}).arguments, args);
    EXPECT_EQ(log->NewQueueId(), 9u);
  }
  Framing f;
  EXPECT_EQ(ParseFileHeader(Slurp(file()).substr(0, kFileHeader), FileKind::kDefinitions, f),
            HeaderState::kSalted);
  EXPECT_EQ(Open()->model().queues.count({"/", "q"}), 1u);
}

TEST_F(DefinitionsRecoveryTest, WhatCannotBeReadBackIsNeverWritten) {
  amqp::FieldTable bad;
  bad.Set("k", amqp::FieldValue{'Z', int64_t{1}});
  {
    auto log = Open();
    log->PutVHost("/");
    log->PutQueue({"/", "unstorable", log->NewQueueId(), false, bad});
    log->PutQueue({"/", "fine", log->NewQueueId(), false, {}});
    EXPECT_EQ(log->model().queues.count({"/", "unstorable"}), 0u);
  }
  auto log = Open();  // the next start is not refused
  EXPECT_EQ(log->model().queues.count({"/", "unstorable"}), 0u);
  EXPECT_EQ(log->model().queues.count({"/", "fine"}), 1u);
}

TEST(EncodableTest, SaysWhatTheStoreCannotReadBack) {
  EXPECT_TRUE(Encodable(Nested(kMaxStoredTableDepth)).ok());
  Status deep = Encodable(Nested(kMaxStoredTableDepth + 1));
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().text.find("nested deeper than 128"), std::string::npos);

  amqp::FieldTable in_array;  // arrays count as a level too
  in_array.Set(
      "a", amqp::FieldValue::Array({amqp::FieldValue::Table(Nested(kMaxStoredTableDepth - 1))}));
  EXPECT_FALSE(Encodable(in_array).ok());

  amqp::FieldTable long_key;
  long_key.Set(std::string(256, 'k'), amqp::FieldValue::Long(1));
  EXPECT_FALSE(Encodable(long_key).ok());
  long_key.entries[0].first.resize(255);
  EXPECT_TRUE(Encodable(long_key).ok());

  for (amqp::FieldValue v :
       {amqp::FieldValue{'Z', int64_t{1}}, amqp::FieldValue{'b', int64_t{300}},
        amqp::FieldValue{'S', int64_t{1}}, amqp::FieldValue{'F', std::string()}}) {
    amqp::FieldTable t;
    t.Set("v", v);
    EXPECT_FALSE(Encodable(t).ok()) << v.type;
    EXPECT_FALSE(Encodable(core::QueueDef{"/", "q", 1, false, t}).ok()) << v.type;
    EXPECT_FALSE(Encodable(core::PolicyDef{"/", "p", ".*", core::ApplyTo::kAll, 0, t}).ok());
  }
  amqp::FieldTable fine;
  fine.Set("b", amqp::FieldValue::Int(amqp::FieldType::kInt8, -128));
  fine.Set("s", amqp::FieldValue::Str("x"));
  fine.Set("v", amqp::FieldValue::Void());
  EXPECT_TRUE(Encodable(fine).ok());
}

// A durable queue the model refuses to restore would lose its messages.
class QueueRestoreTest : public test::StoreTest {};

TEST_F(QueueRestoreTest, ADurableQueueThatCannotBeRestoredRefusesTheStart) {
  OpenNode();
  DeclareQueue("q", true);
  Publish("q", "kept");
  CloseNode();
  {
    // Arguments the model refuses, as a record written by another version.
    DefinitionsLog log;
    bool fresh;
    ASSERT_TRUE(log.Open(dir_.string(), (dir_ / "damaged").string(), fresh).ok());
    core::QueueDef q = log.model().queues.at({"/", "q"});
    q.arguments.Set("x-max-length", amqp::FieldValue::Long(-5));
    log.PutQueue(q);
  }
  Status s = TryOpenNode();
  ASSERT_FALSE(s.ok()) << "started without the queue";
  EXPECT_NE(s.error().text.find("durable queue 'q' in vhost '/' cannot be restored"),
            std::string::npos)
      << s.error().text;
}

}  // namespace
}  // namespace warren::store
