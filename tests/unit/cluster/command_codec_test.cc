// The metadata command codec (cluster/command_codec.h): every kind comes back
// exactly as it went, and each kind of bad entry a peer or a damaged disk
// could hand a node is refused with one line that names what is wrong.
#include "broker/cluster/command_codec.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "../../fuzz/command_samples.h"
#include "broker/core/limits.h"
#include "warren/v1/metadata.pb.h"

namespace warren::cluster {
namespace {

namespace fs = std::filesystem;
using amqp::FieldTable;
using amqp::FieldValue;
using fuzz::SameCommand;
using fuzz::SampleCommands;
using Pb = v1::MetadataCommand;

// The reason DecodeCommand gives, or "" when it accepts.
std::string Refusal(const std::string& bytes) {
  Result<core::Command> c = DecodeCommand(bytes);
  if (c.ok()) return "";
  EXPECT_EQ(c.error().code, 0);
  EXPECT_EQ(c.error().text.find('\n'), std::string::npos) << "one line";
  return c.error().text;
}

std::string Serialized(const Pb& pb) {
  std::string out;
  EXPECT_TRUE(pb.SerializeToString(&out));
  return out;
}

// A table nested `levels` deep: the outermost table is level 1.
FieldTable NestedTable(int levels) {
  FieldTable t;
  for (int level = 1; level < levels; ++level) {
    FieldTable outer;
    outer.Set("n", FieldValue::Table(std::move(t)));
    t = std::move(outer);
  }
  return t;
}

std::string EncodedTable(const FieldTable& t) {
  std::string out;
  amqp::EncodeTable(t, out);
  return out;
}

// A DeclareQueue entry whose arguments are `table_bytes` as given.
std::string QueueWithArguments(const std::string& table_bytes) {
  Pb pb;
  pb.mutable_declare_queue()->set_vhost("/");
  pb.mutable_declare_queue()->set_name("q");
  pb.mutable_declare_queue()->set_arguments(table_bytes);
  return Serialized(pb);
}

TEST(CommandCodecTest, EveryKindComesBackExactly) {
  for (const auto& [name, command] : SampleCommands()) {
    std::string bytes = EncodeCommand(command);
    Result<core::Command> back = DecodeCommand(bytes);
    ASSERT_TRUE(back.ok()) << name << ": " << back.error().text;
    EXPECT_TRUE(SameCommand(back.value(), command)) << name;
    EXPECT_EQ(EncodeCommand(back.value()), bytes) << name << ": encoded again, the same bytes";
  }
}

TEST(CommandCodecTest, SamplesCoverAllTwentyThreeKinds) {
  std::set<size_t> kinds;
  for (const auto& [name, command] : SampleCommands()) kinds.insert(command.index());
  EXPECT_EQ(kinds.size(), std::variant_size_v<core::Command>);
  EXPECT_EQ(kinds.size(), 23u);
}

TEST(CommandCodecTest, NamesThatAreNotUtf8ComeBackByteForByte) {
  std::string name("\xff\xfe\x00\xc3\x28", 5);
  Result<core::Command> back = DecodeCommand(EncodeCommand(core::cmd::Bind{
      name, name, name, name, true, {}, 0}));
  ASSERT_TRUE(back.ok()) << back.error().text;
  const auto& bind = std::get<core::cmd::Bind>(back.value());
  EXPECT_EQ(bind.vhost, name);
  EXPECT_EQ(bind.source, name);
  EXPECT_EQ(bind.destination, name);
  EXPECT_EQ(bind.routing_key, name);
}

TEST(CommandCodecTest, TablesComeBackValueForValueWithTheirTypeLetters) {
  FieldTable table = fuzz::EveryTypeTable();
  Result<core::Command> back = DecodeCommand(
      EncodeCommand(core::cmd::DeclareExchange{"/", "x", "topic", true, false, false, table}));
  ASSERT_TRUE(back.ok()) << back.error().text;
  EXPECT_EQ(std::get<core::cmd::DeclareExchange>(back.value()).arguments, table);
}

TEST(CommandCodecTest, EveryApplyToComesBack) {
  for (core::ApplyTo a :
       {core::ApplyTo::kAll, core::ApplyTo::kQueues, core::ApplyTo::kExchanges}) {
    Result<core::Command> back =
        DecodeCommand(EncodeCommand(core::cmd::SetPolicy{"/", "p", ".*", a, 1, {}}));
    ASSERT_TRUE(back.ok()) << back.error().text;
    EXPECT_EQ(std::get<core::cmd::SetPolicy>(back.value()).apply_to, a);
  }
}

TEST(CommandCodecTest, WhatIsAtEveryBoundIsAccepted) {
  std::string longest(core::kMaxShortString, 'n');
  core::Command queue = core::cmd::DeclareQueue{
      longest, longest, true, false, false, NestedTable(amqp::kMaxTableDepth), 1};
  core::Command user = core::cmd::AddUser{longest, std::string(255, 'h'), {longest}};
  core::Command permissions = core::cmd::SetPermissions{
      longest, longest, std::string(64 << 10, '.'), "", std::string(64 << 10, '*')};
  for (const core::Command& c : {queue, user, permissions}) {
    Result<core::Command> back = DecodeCommand(EncodeCommand(c));
    ASSERT_TRUE(back.ok()) << back.error().text;
    EXPECT_TRUE(SameCommand(back.value(), c));
  }
}

TEST(CommandCodecTest, EmptyInputIsRefusedAsNoCommand) {
  EXPECT_EQ(Refusal(""), "metadata command: none set, or of a kind this version does not know");
}

TEST(CommandCodecTest, AKindThisVersionDoesNotKnowIsRefused) {
  // Field 99, length-delimited, empty: what a later version's new kind looks like.
  EXPECT_EQ(Refusal(std::string("\x9a\x06\x00", 3)),
            "metadata command: none set, or of a kind this version does not know");
}

TEST(CommandCodecTest, FieldsThisVersionDoesNotKnowAreRefused) {
  Pb pb;
  pb.mutable_add_vhost()->set_name("v");
  std::string bytes = Serialized(pb);
  EXPECT_EQ(Refusal(bytes + std::string("\xa0\x06\x01", 3)),  // field 100, varint 1
            "metadata command: field 100 is not one this version knows");
  // Field 15 of AddVHost: the entry is one field, tag 0x0a, then its length.
  std::string inner = std::string("\x0a\x01v", 3) + std::string("\x78\x01", 2);
  EXPECT_EQ(Refusal(std::string("\x0a") + static_cast<char>(inner.size()) + inner),
            "AddVHost: field 15 is not one this version knows");
}

// A user's limits come from a peer's log entry: bounded in number and in
// the length of each name, as every other repeated field is.
TEST(CommandCodecTest, UserLimitsAreBoundedInNumberAndNameLength) {
  core::cmd::SetUserLimits many{"u", {}};
  for (int i = 0; i < 9; ++i) many.limits["limit-" + std::to_string(i)] = i;
  EXPECT_EQ(Refusal(EncodeCommand(many)), "SetUserLimits: limits: 9 of them; at most 8 are allowed");
  many.limits.erase("limit-8");
  EXPECT_TRUE(DecodeCommand(EncodeCommand(many)).ok()) << "8 is within the bound";
  EXPECT_EQ(Refusal(EncodeCommand(core::cmd::SetUserLimits{"u", {{std::string(256, 'n'), 1}}})),
            "SetUserLimits: limit name is 256 bytes long; at most 255 are allowed");
  EXPECT_EQ(Refusal(EncodeCommand(
                core::cmd::SetTopicPermission{"u", "/", std::string(256, 'x'), "", ""})),
            "SetTopicPermission: exchange name is 256 bytes long; at most 255 are allowed");
}

TEST(CommandCodecTest, GarbageIsRefusedAsNotProtobuf) {
  EXPECT_EQ(Refusal("\xff\xff\xff\xff\xff"),
            "metadata command: not a protobuf MetadataCommand (cut short or garbled)");
  EXPECT_EQ(Refusal("hello world"),
            "metadata command: not a protobuf MetadataCommand (cut short or garbled)");
}

TEST(CommandCodecTest, EveryTruncationIsRefused) {
  for (const auto& [name, command] : SampleCommands()) {
    std::string bytes = EncodeCommand(command);
    for (size_t cut = 1; cut < bytes.size(); ++cut) {
      std::string text = Refusal(bytes.substr(0, cut));
      ASSERT_NE(text, "") << name << " cut to " << cut << " bytes was accepted";
      EXPECT_NE(text.find("cut short"), std::string::npos) << name << " at " << cut << ": " << text;
    }
  }
}

TEST(CommandCodecTest, InputOverOneMebibyteIsRefusedBeforeParsing) {
  std::string text = Refusal(std::string((1 << 20) + 1, '\0'));
  EXPECT_EQ(text, "metadata command is 1048577 bytes long; at most 1048576 are allowed");
}

TEST(CommandCodecTest, NamesOverAShortStringAreRefusedNamingTheField) {
  std::string long_name(256, 'n');
  core::cmd::DeclareQueue queue;
  queue.name = long_name;
  EXPECT_EQ(Refusal(EncodeCommand(queue)),
            "DeclareQueue: queue name is 256 bytes long; at most 255 are allowed");
  EXPECT_EQ(Refusal(EncodeCommand(core::cmd::AddVHost{long_name})),
            "AddVHost: vhost name is 256 bytes long; at most 255 are allowed");
  EXPECT_EQ(Refusal(EncodeCommand(core::cmd::ClearPermissions{long_name, "/"})),
            "ClearPermissions: user name is 256 bytes long; at most 255 are allowed");
  core::cmd::Unbind unbind;
  unbind.routing_key = long_name;
  EXPECT_EQ(Refusal(EncodeCommand(unbind)),
            "Unbind: routing key is 256 bytes long; at most 255 are allowed");
  EXPECT_EQ(Refusal(EncodeCommand(core::cmd::SetUserTags{"u", {"ok", long_name}})),
            "SetUserTags: tag is 256 bytes long; at most 255 are allowed");
  core::cmd::DeclareExchange exchange;
  exchange.type = long_name;
  EXPECT_EQ(Refusal(EncodeCommand(exchange)),
            "DeclareExchange: exchange type is 256 bytes long; at most 255 are allowed");
}

TEST(CommandCodecTest, TheFirstFieldOverItsBoundIsTheOneNamed) {
  core::cmd::Bind bind;
  bind.source = bind.destination = bind.routing_key = std::string(300, 'n');
  EXPECT_EQ(Refusal(EncodeCommand(bind)),
            "Bind: source exchange name is 300 bytes long; at most 255 are allowed");
}

TEST(CommandCodecTest, OverlongPasswordHashesAndPatternsAreRefused) {
  EXPECT_EQ(Refusal(EncodeCommand(core::cmd::ChangePassword{"u", std::string(256, 'h')})),
            "ChangePassword: password hash is 256 bytes long; at most 255 are allowed");
  core::cmd::SetPermissions permissions;
  permissions.write = std::string(65537, '.');
  EXPECT_EQ(Refusal(EncodeCommand(permissions)),
            "SetPermissions: write regex is 65537 bytes long; at most 65536 are allowed");
  core::cmd::SetPolicy policy;
  policy.pattern = std::string(65537, '.');
  EXPECT_EQ(Refusal(EncodeCommand(policy)),
            "SetPolicy: pattern is 65537 bytes long; at most 65536 are allowed");
}

TEST(CommandCodecTest, ATableNestedDeeperThanTheModelAllowsIsRefusedNamingTheDepth) {
  FieldTable too_deep = NestedTable(amqp::kMaxTableDepth + 1);
  std::string text = Refusal(QueueWithArguments(EncodedTable(too_deep)));
  EXPECT_EQ(text, "DeclareQueue: arguments: tables and arrays nested deeper than 64 levels");
}

TEST(CommandCodecTest, ATableNestedFarTooDeepIsRefusedUnread) {
  std::string text = Refusal(QueueWithArguments(EncodedTable(NestedTable(200))));
  EXPECT_EQ(text,
            "DeclareQueue: arguments: not an AMQP field table (cut short, an unknown type "
            "letter, or nested deeper than 128 levels)");
}

TEST(CommandCodecTest, BytesAfterATableAreRefused) {
  std::string table = EncodedTable(fuzz::QueueArguments());
  EXPECT_EQ(Refusal(QueueWithArguments(table + "xyz")),
            "DeclareQueue: arguments: 3 bytes after the table");
}

TEST(CommandCodecTest, TablesThatDoNotDecodeAreRefused) {
  std::string table = EncodedTable(fuzz::QueueArguments());
  std::string prefix = "DeclareQueue: arguments: not an AMQP field table";
  EXPECT_EQ(Refusal(QueueWithArguments(table.substr(0, table.size() - 1))).rfind(prefix, 0), 0u)
      << "cut short";
  // One entry, key "k", then the type letter 'Z', which AMQP does not have.
  EXPECT_EQ(Refusal(QueueWithArguments(std::string("\0\0\0\3\1kZ", 7))).rfind(prefix, 0), 0u)
      << "unknown type letter";
  Pb pb;
  pb.mutable_set_policy()->set_definition("\0\0", 2);
  EXPECT_EQ(Refusal(Serialized(pb)).rfind("SetPolicy: definition: not an AMQP field table", 0), 0u);
}

// A SetMirrors entry for queue "q" homed on `home`.
Pb Mirrors(uint64_t home, std::vector<uint64_t> mirrors, std::vector<uint64_t> in_sync,
           uint64_t epoch = 1) {
  Pb pb;
  Pb::SetMirrors& m = *pb.mutable_set_mirrors();
  m.set_vhost("/");
  m.set_name("q");
  m.set_home(home);
  m.set_epoch(epoch);
  for (uint64_t id : mirrors) m.add_mirrors(id);
  for (uint64_t id : in_sync) m.add_in_sync(id);
  return pb;
}

TEST(CommandCodecTest, MirrorsThatAreNotAMirrorSetAreRefused) {
  EXPECT_EQ(Refusal(Serialized(Mirrors(1, {2, 3}, {3}))), "");
  EXPECT_EQ(Refusal(Serialized(Mirrors(1, {3, 2}, {}))),
            "SetMirrors: mirrors: not distinct member ids in ascending order");
  EXPECT_EQ(Refusal(Serialized(Mirrors(1, {2, 2}, {}))),
            "SetMirrors: mirrors: not distinct member ids in ascending order");
  EXPECT_EQ(Refusal(Serialized(Mirrors(1, {0, 2}, {}))),
            "SetMirrors: mirrors: not distinct member ids in ascending order");
  EXPECT_EQ(Refusal(Serialized(Mirrors(1, {2}, {3}))),
            "SetMirrors: in_sync: member 3 is not a mirror");
  EXPECT_EQ(Refusal(Serialized(Mirrors(2, {2, 3}, {}))),
            "SetMirrors: mirrors: the home is among them");
  EXPECT_EQ(Refusal(Serialized(Mirrors(0, {2}, {}))), "SetMirrors: home: not a member id");
  EXPECT_EQ(Refusal(Serialized(Mirrors(1, {2}, {}, 0))),
            "SetMirrors: epoch: 0 is no change's");
  Pb moved = Mirrors(1, {1, 3}, {3});
  moved.mutable_set_mirrors()->set_new_home(2);
  EXPECT_EQ(Refusal(Serialized(moved)), "") << "the old home is a mirror of the new one";
  moved = Mirrors(3, {1, 2}, {});
  moved.mutable_set_mirrors()->set_new_home(2);
  EXPECT_EQ(Refusal(Serialized(moved)), "SetMirrors: new_home: it is among the mirrors");
  std::vector<uint64_t> many;
  for (uint64_t id = 2; id < 2 + 256; ++id) many.push_back(id);
  EXPECT_EQ(Refusal(Serialized(Mirrors(1, many, {}))),
            "SetMirrors: mirrors: 256 members; at most 255 are allowed");
}

TEST(CommandCodecTest, AnApplyToOutOfRangeIsRefused) {
  Pb pb;
  pb.mutable_set_policy()->set_name("p");
  pb.mutable_set_policy()->set_apply_to(static_cast<Pb::ApplyTo>(3));
  EXPECT_EQ(Refusal(Serialized(pb)), "SetPolicy: apply_to 3 is none of all, queues and exchanges");
  pb.mutable_set_policy()->set_apply_to(static_cast<Pb::ApplyTo>(-1));
  EXPECT_EQ(Refusal(Serialized(pb)), "SetPolicy: apply_to -1 is none of all, queues and exchanges");
}

// The seeds of warren_fuzz_command (tests/fuzz/corpus-command) are the
// samples' encodings, byte for byte: golden bytes for the wire format, and a
// fuzzer that starts deep inside the decoder. Regenerate them with
// warren_command_fuzz_corpus (tests/fuzz/) only when the format changes on
// purpose.
TEST(CommandCodecTest, EverySeedIsTheEncodingOfItsSample) {
  fs::path corpus = fs::path(WARREN_SOURCE_DIR) / "tests" / "fuzz" / "corpus-command";
  size_t seeds = 0;
  for (const auto& [name, command] : SampleCommands()) {
    std::ifstream f(corpus / name, std::ios::binary);
    ASSERT_TRUE(f) << "no seed " << (corpus / name);
    std::stringstream bytes;
    bytes << f.rdbuf();
    EXPECT_EQ(bytes.str(), EncodeCommand(command)) << name;
    ++seeds;
  }
  size_t files = std::distance(fs::directory_iterator(corpus), fs::directory_iterator());
  EXPECT_EQ(files, seeds) << "a seed with no sample";
}

}  // namespace
}  // namespace warren::cluster
