// Publisher confirms (RabbitMQ's confirm class): after confirm.select every
// publish on the channel gets a sequence number from 1, and the broker
// answers each exactly once with basic.ack or basic.nack (multiple=true
// settles everything outstanding up to the tag). A mandatory return comes
// before the ack of its publish.
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "frame_harness.h"

namespace warren::protocol_test {
namespace {

// Settles sequence numbers as acks and nacks arrive; each must be settled
// exactly once, and tags must increase.
class ConfirmTracker {
 public:
  explicit ConfirmTracker(uint64_t published) {
    for (uint64_t s = 1; s <= published; ++s) outstanding_.insert(s);
  }
  // Applies one basic.ack / basic.nack; false (with a test failure) if the
  // tag is not outstanding or not above the previous one.
  bool Apply(uint64_t tag, bool multiple, bool ack) {
    if (tag <= last_tag_) {
      ADD_FAILURE() << "confirm tags must increase: " << tag << " after " << last_tag_;
      return false;
    }
    last_tag_ = tag;
    auto it = outstanding_.find(tag);
    if (it == outstanding_.end()) {
      ADD_FAILURE() << "confirm for " << tag << ", which is not outstanding";
      return false;
    }
    auto begin = multiple ? outstanding_.begin() : it;
    auto end = std::next(it);
    for (auto s = begin; s != end; ++s) settled_[*s] = ack;
    outstanding_.erase(begin, end);
    return true;
  }
  bool done() const { return outstanding_.empty(); }
  const std::map<uint64_t, bool>& settled() const { return settled_; }

 private:
  std::set<uint64_t> outstanding_;
  std::map<uint64_t, bool> settled_;  // seq -> acked (true) or nacked
  uint64_t last_tag_ = 0;
};

// A frame that was not a confirm, and how many seqs were settled before it.
struct Other {
  Frame frame;
  size_t settled_before;
};

// Reads confirms on `channel` until all are settled. Other frames are a
// failure unless `others` collects them.
bool ReadConfirms(RawClient& c, uint16_t channel, ConfirmTracker& t,
                  std::vector<Other>* others = nullptr) {
  while (!t.done()) {
    auto f = c.Next();
    if (!f) {
      ADD_FAILURE() << "confirms stopped with " << t.settled().size() << " settled";
      return false;
    }
    if (f->channel == channel) {
      if (auto* a = std::get_if<amqp::BasicAck>(&f->method)) {
        if (!t.Apply(a->delivery_tag, a->multiple, true)) return false;
        continue;
      }
      if (auto* n = std::get_if<amqp::BasicNack>(&f->method)) {
        if (!t.Apply(n->delivery_tag, n->multiple, false)) return false;
        continue;
      }
    }
    if (!others) {
      ADD_FAILURE() << "unexpected " << Describe(*f) << " among confirms";
      return false;
    }
    others->push_back(Other{std::move(*f), t.settled().size()});
  }
  return true;
}

class ConfirmsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(c_.Handshake());
    ASSERT_TRUE(c_.OpenChannel(1));
    c_.SendMethod(1, amqp::ConfirmSelect{false});
    ASSERT_TRUE(c_.Expect<amqp::ConfirmSelectOk>(1));
  }
  TestNode node_;
  RawClient c_{node_.port()};
};

TEST_F(ConfirmsTest, PublishesInOneWriteAreAckedExactlyOnceEach) {
  constexpr uint64_t kCount = 1000;
  ASSERT_TRUE(c_.DeclareQueue(1, "confirmed"));
  std::string out;
  for (uint64_t i = 1; i <= kCount; ++i)
    out += PublishFrames(1, "", "confirmed", "message " + std::to_string(i));
  c_.Send(out);
  ConfirmTracker t(kCount);
  ASSERT_TRUE(ReadConfirms(c_, 1, t));
  ASSERT_EQ(t.settled().size(), kCount);
  for (const auto& [seq, acked] : t.settled()) EXPECT_TRUE(acked) << "seq " << seq << " nacked";
  amqp::QueueDeclare passive;
  passive.queue = "confirmed";
  passive.passive = true;
  c_.SendMethod(1, passive);
  auto ok = c_.Expect<amqp::QueueDeclareOk>(1);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->message_count, kCount);
}

// Persistent messages to a durable queue are confirmed only after the store
// has synced them; transient ones published around them must not overtake.
TEST_F(ConfirmsTest, DurableAndTransientPublishesAreConfirmedInOrder) {
  ASSERT_TRUE(c_.DeclareQueue(1, "durable", {}, /*durable=*/true));
  const std::string persistent("\x10\x00\x02", 3);  // delivery-mode 2
  std::string out;
  for (int i = 0; i < 200; ++i)
    out += PublishFrames(1, "", i % 3 == 0 ? "nowhere" : "durable", "m" + std::to_string(i),
                         i % 2 == 0 ? persistent : NoProperties());
  c_.Send(out);
  ConfirmTracker t(200);
  ASSERT_TRUE(ReadConfirms(c_, 1, t));
  for (const auto& [seq, acked] : t.settled()) EXPECT_TRUE(acked) << "seq " << seq;
}

TEST(TxDurabilityTest, CommitOfPersistentMessagesIsAnswered) {
  TestNode node;
  RawClient c(node.port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1));
  ASSERT_TRUE(c.DeclareQueue(1, "durable", {}, /*durable=*/true));
  c.SendMethod(1, amqp::TxSelect{});
  ASSERT_TRUE(c.Expect<amqp::TxSelectOk>(1));
  c.Send(PublishFrames(1, "", "durable", "kept", std::string("\x10\x00\x02", 3)));
  c.SendMethod(1, amqp::TxCommit{});
  ASSERT_TRUE(c.Expect<amqp::TxCommitOk>(1));
  auto got = Get(c, 1, "durable");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body(), "kept");
}

TEST_F(ConfirmsTest, UnroutablePublishesAreAckedToo) {
  std::string out;
  for (int i = 0; i < 10; ++i) out += PublishFrames(1, "", "nowhere", "lost");
  c_.Send(out);
  ConfirmTracker t(10);
  ASSERT_TRUE(ReadConfirms(c_, 1, t));
  for (const auto& [seq, acked] : t.settled()) EXPECT_TRUE(acked) << "seq " << seq;
}

// RabbitMQ 3.10 answers this with ack 1, then nack 3 multiple=true.
TEST_F(ConfirmsTest, RejectPublishOverflowNacksTheRefusedPublishes) {
  amqp::FieldTable args;
  args.Set("x-max-length", amqp::FieldValue::Long(1));
  args.Set("x-overflow", amqp::FieldValue::Str("reject-publish"));
  ASSERT_TRUE(c_.DeclareQueue(1, "bounded", args));
  c_.Send(PublishFrames(1, "", "bounded", "first") + PublishFrames(1, "", "bounded", "second") +
          PublishFrames(1, "", "bounded", "third"));
  ConfirmTracker t(3);
  ASSERT_TRUE(ReadConfirms(c_, 1, t));
  EXPECT_EQ(t.settled(), (std::map<uint64_t, bool>{{1, true}, {2, false}, {3, false}}));
  auto got = Get(c_, 1, "bounded");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body(), "first");
  // Room again: the next publish (seq 4) is acked on its own.
  c_.Send(PublishFrames(1, "", "bounded", "fourth"));
  auto ack = c_.Expect<amqp::BasicAck>(1);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->delivery_tag, 4u);
  EXPECT_FALSE(ack->multiple);
}

TEST_F(ConfirmsTest, MandatoryUnroutableIsReturnedBeforeItsAck) {
  ASSERT_TRUE(c_.DeclareQueue(1, "routable"));
  c_.Send(PublishFrames(1, "", "routable", "kept", NoProperties(), 131072, true) +
          PublishFrames(1, "", "unbound-key", "returned", NoProperties(), 131072, true));
  std::vector<Other> others;
  ConfirmTracker t(2);
  ASSERT_TRUE(ReadConfirms(c_, 1, t, &others));
  EXPECT_EQ(t.settled(), (std::map<uint64_t, bool>{{1, true}, {2, true}}));
  ASSERT_EQ(others.size(), 3u) << "basic.return, content header, body";
  auto* ret = std::get_if<amqp::BasicReturn>(&others[0].frame.method);
  ASSERT_NE(ret, nullptr) << Describe(others[0].frame);
  EXPECT_EQ(others[0].frame.channel, 1);
  EXPECT_EQ(ret->reply_code, static_cast<uint16_t>(amqp::ReplyCode::kNoRoute));
  EXPECT_EQ(ret->reply_text, "NO_ROUTE");
  EXPECT_EQ(ret->exchange, "");
  EXPECT_EQ(ret->routing_key, "unbound-key");
  EXPECT_EQ(others[1].frame.type, amqp::kFrameHeader);
  EXPECT_EQ(others[2].frame.type, amqp::kFrameBody);
  EXPECT_EQ(others[2].frame.payload, "returned");
  // Seq 2 was still outstanding when its return went out.
  for (const Other& o : others) EXPECT_LT(o.settled_before, 2u) << Describe(o.frame);
}

TEST_F(ConfirmsTest, MandatoryToAnExchangeWithoutBindingsIsReturned) {
  c_.Send(PublishFrames(1, "amq.direct", "no-binding", "returned", NoProperties(), 131072,
                        true));
  auto ret = c_.Expect<amqp::BasicReturn>(1);
  ASSERT_TRUE(ret);
  EXPECT_EQ(ret->reply_code, 312);
  EXPECT_EQ(ret->exchange, "amq.direct");
  EXPECT_EQ(ret->routing_key, "no-binding");
  std::string header;
  std::vector<std::string> bodies;
  ASSERT_TRUE(ReadContent(c_, 1, header, bodies));
  auto ack = c_.Expect<amqp::BasicAck>(1);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->delivery_tag, 1u);
}

TEST_F(ConfirmsTest, SequenceNumbersArePerChannel) {
  ASSERT_TRUE(c_.OpenChannel(2));
  c_.SendMethod(2, amqp::ConfirmSelect{false});
  ASSERT_TRUE(c_.Expect<amqp::ConfirmSelectOk>(2));
  ASSERT_TRUE(c_.DeclareQueue(1, "per-channel"));
  std::string out;
  for (int i = 0; i < 50; ++i) {
    out += PublishFrames(1, "", "per-channel", "one");
    out += PublishFrames(2, "", "per-channel", "two");
  }
  c_.Send(out);
  ConfirmTracker one(50), two(50);
  while (!one.done() || !two.done()) {
    auto f = c_.Next();
    ASSERT_TRUE(f);
    auto* a = std::get_if<amqp::BasicAck>(&f->method);
    ASSERT_NE(a, nullptr) << Describe(*f);
    ASSERT_TRUE(f->channel == 1 || f->channel == 2) << Describe(*f);
    ASSERT_TRUE((f->channel == 1 ? one : two).Apply(a->delivery_tag, a->multiple, true));
  }
}

TEST_F(ConfirmsTest, TxSelectOnAConfirmChannelIsPreconditionFailed) {
  c_.SendMethod(1, amqp::TxSelect{});
  EXPECT_TRUE(c_.ExpectChannelClose(1, 406, 90, 10));
}

}  // namespace
}  // namespace warren::protocol_test
