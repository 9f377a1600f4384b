// The message codec: every kind round-trips, the bytes are what the format
// in codec.h says, and each kind of malformed input is refused with a reason.
#include <gtest/gtest.h>

#include <string>

#include "../../fuzz/raft_samples.h"
#include "raft/codec.h"
#include "raft/errors.h"

namespace warren::raft {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// The reason DecodeMessage gives, or "" when it accepts.
std::string Refusal(const std::string& bytes) {
  Result<Message> m = DecodeMessage(bytes);
  if (m.ok()) return "";
  EXPECT_EQ(ErrcOf(m.error()), Errc::kMalformed);
  return m.error().text;
}

TEST(RaftCodec, EveryKindRoundTrips) {
  for (const auto& [name, message] : fuzz::SampleMessages()) {
    std::string bytes = EncodeMessage(message);
    Result<Message> back = DecodeMessage(bytes);
    ASSERT_TRUE(back.ok()) << name << ": " << back.error().text;
    EXPECT_EQ(back.value(), message) << name;
    EXPECT_EQ(EncodeMessage(back.value()), bytes) << name;
  }
}

TEST(RaftCodec, VoteRequestGoldenBytes) {
  Message m{1, 2, 5, VoteRequest{.pre_vote = true, .last_index = 300, .last_term = 4}};
  EXPECT_EQ(EncodeMessage(m), Bytes({3, 1, 2, 5, 1, 0xac, 0x02, 4}));
}

TEST(RaftCodec, EntryIndexesFollowPrevIndex) {
  std::string bytes = Bytes({1, 1, 2, 3,  // append from 1 to 2, term 3
                             9, 2, 0, 0,  // prev 9/2, commit 0, lease tick 0
                             2,           // two entries
                             2, 0, 1, 'a', 3, 2, 0,
                             7});         // the leader's log durable up to 7
  Result<Message> m = DecodeMessage(bytes);
  ASSERT_TRUE(m.ok()) << m.error().text;
  const auto& ae = std::get<AppendEntries>(m.value().body);
  ASSERT_EQ(ae.entries.size(), 2u);
  EXPECT_EQ(ae.entries[0].index, Index{10});
  EXPECT_EQ(ae.entries[0].payload, "a");
  EXPECT_EQ(ae.entries[1].index, Index{11});
  EXPECT_EQ(ae.entries[1].type, EntryType::kNoOp);
}

TEST(RaftCodec, EveryTruncationIsRefused) {
  for (const auto& [name, message] : fuzz::SampleMessages()) {
    std::string bytes = EncodeMessage(message);
    for (size_t n = 0; n < bytes.size(); ++n) {
      EXPECT_NE(Refusal(bytes.substr(0, n)), "") << name << " cut to " << n;
    }
  }
}

TEST(RaftCodec, TrailingBytesAreRefused) {
  std::string bytes = EncodeMessage(Message{1, 2, 3, TimeoutNow{}}) + "x";
  EXPECT_EQ(Refusal(bytes), "raft message: trailing bytes");
}

TEST(RaftCodec, UnknownKindFlagsAndEntryTypesAreRefused) {
  EXPECT_EQ(Refusal(Bytes({8, 1, 2, 3})), "raft message: unknown message kind");
  EXPECT_EQ(Refusal(Bytes({0, 1, 2, 3})), "raft message: unknown message kind");
  EXPECT_EQ(Refusal(Bytes({3, 1, 2, 3, 4, 0, 0})), "raft message: unknown flag bits");
  EXPECT_EQ(Refusal(Bytes({4, 1, 2, 3, 4})), "raft message: unknown flag bits");
  EXPECT_EQ(Refusal(Bytes({2, 1, 2, 3, 2, 0, 0, 0, 0, 0})), "raft message: bad boolean");
  EXPECT_EQ(Refusal(Bytes({1, 1, 2, 3, 0, 0, 0, 0, 1, 1, 3, 0})),
            "raft message: unknown entry type");
}

TEST(RaftCodec, OnlyCanonicalVarintsAreAccepted) {
  EXPECT_EQ(Refusal(Bytes({7, 0x81, 0x00, 2, 3})), "raft message: bad varint") << "overlong 1";
  std::string eleven = Bytes({7, 1, 2});
  for (int i = 0; i < 10; ++i) eleven.push_back(static_cast<char>(0xff));
  eleven.push_back(1);
  EXPECT_EQ(Refusal(eleven), "raft message: bad varint") << "past 64 bits";
  std::string max = Bytes({7, 1, 2});
  for (int i = 0; i < 9; ++i) max.push_back(static_cast<char>(0xff));
  max.push_back(1);
  EXPECT_EQ(Refusal(max), "") << "the largest term there is";
}

TEST(RaftCodec, CountsAndLengthsPastTheInputAreRefusedWithoutAllocating) {
  // 2^35 entries announced in a dozen bytes.
  EXPECT_EQ(Refusal(Bytes({1, 1, 2, 3, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 1})),
            "raft message: too many entries");
  // A payload of 2^35 bytes.
  EXPECT_EQ(Refusal(Bytes({1, 1, 2, 3, 0, 0, 0, 0, 1, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 1})),
            "raft message: length past its bound");
  EXPECT_EQ(Refusal(Bytes({1, 1, 2, 3, 0, 0, 0, 0, 1, 1, 0, 5, 'a'})), "raft message: truncated");
}

TEST(RaftCodec, EntriesAPeerCouldNotSendAreRefused) {
  // Terms going backwards, past the message's term, before prev_term.
  EXPECT_EQ(Refusal(Bytes({1, 1, 2, 3, 0, 0, 0, 0, 2, 2, 0, 0, 1, 0, 0})),
            "raft message: entry term out of order");
  EXPECT_EQ(Refusal(Bytes({1, 1, 2, 3, 0, 0, 0, 0, 1, 4, 0, 0})),
            "raft message: entry term out of order");
  EXPECT_EQ(Refusal(Bytes({1, 1, 2, 3, 0, 2, 0, 0, 1, 1, 0, 0})),
            "raft message: entry term out of order");
  EXPECT_EQ(Refusal(Bytes({1, 1, 2, 3, 0, 2, 0, 0, 1, 3, 2, 1, 'x'})),
            "raft message: no-op with a payload");
  EXPECT_EQ(Refusal(Bytes({1, 1, 2, 3, 0, 0, 0, 0, 1, 1, 1, 2, 1, 0})),
            "raft message: membership entry without a valid configuration");
}

TEST(RaftCodec, SelfAddressedOrAnonymousMessagesAreRefused) {
  EXPECT_EQ(Refusal(Bytes({7, 2, 2, 3})), "raft message: bad sender or destination");
  EXPECT_EQ(Refusal(Bytes({7, 0, 2, 3})), "raft message: bad sender or destination");
  EXPECT_EQ(Refusal(Bytes({7, 1, 0, 3})), "raft message: bad sender or destination");
}

TEST(RaftCodec, ConfigurationsMustBeSortedDisjointAndNamed) {
  auto decodes = [](std::initializer_list<int> bytes) {
    return DecodeConfiguration(Bytes(bytes)).ok();
  };
  EXPECT_TRUE(decodes({2, 1, 2, 1, 3, 0, 0}));
  EXPECT_FALSE(decodes({2, 2, 1, 0, 0, 0})) << "unsorted";
  EXPECT_FALSE(decodes({2, 1, 1, 0, 0, 0})) << "repeated";
  EXPECT_FALSE(decodes({1, 1, 1, 1, 0, 0})) << "both voter and learner";
  EXPECT_FALSE(decodes({1, 0, 0, 0, 0})) << "node 0";
  EXPECT_FALSE(decodes({1, 1, 0, 0, 0, 9})) << "trailing bytes";
  Configuration big;
  for (NodeId id = 1; id <= kMaxMembers + 1; ++id) big.voters.push_back(id);
  EXPECT_FALSE(DecodeConfiguration(EncodeConfiguration(big)).ok()) << "too many members";
}

TEST(RaftCodec, AddressesTravelWithTheirMembersOnly) {
  Configuration c{{1, 2}, {3}, {{1, "127.0.0.1:25672"}, {3, "node3:25672"}}, 5};
  Result<Configuration> back = DecodeConfiguration(EncodeConfiguration(c));
  ASSERT_TRUE(back.ok()) << back.error().text;
  EXPECT_EQ(back.value(), c);
  auto decodes = [](std::initializer_list<int> bytes) {
    return DecodeConfiguration(Bytes(bytes)).ok();
  };
  EXPECT_TRUE(decodes({1, 1, 0, 1, 1, 1, 'a', 1}));
  EXPECT_FALSE(decodes({1, 1, 0, 1, 2, 1, 'a', 2})) << "the address of no member";
  EXPECT_FALSE(decodes({1, 1, 0, 2, 1, 1, 'a', 1, 1, 'b', 1})) << "one member's address twice";
  EXPECT_FALSE(decodes({1, 1, 0, 9, 1})) << "more addresses than bytes";
  Configuration too_long{{1}, {}, {{1, std::string(kMaxAddressBytes + 1, 'a')}}};
  EXPECT_FALSE(DecodeConfiguration(EncodeConfiguration(too_long)).ok());
}

TEST(RaftCodec, SnapshotsMustNameAnEntryAndVoters) {
  Snapshot s{{0, 0, Configuration{{1}, {}}}, ""};
  EXPECT_NE(Refusal(EncodeMessage(Message{1, 2, 3, InstallSnapshot{0, s}})), "");
  s.meta = {5, 2, Configuration{}};
  EXPECT_EQ(Refusal(EncodeMessage(Message{1, 2, 3, InstallSnapshot{0, s}})),
            "raft message: snapshot without voters");
  s.meta = {5, 4, Configuration{{1}, {}}};
  EXPECT_NE(Refusal(EncodeMessage(Message{1, 2, 3, InstallSnapshot{0, s}})), "")
      << "a term past the message's";
}

}  // namespace
}  // namespace warren::raft
