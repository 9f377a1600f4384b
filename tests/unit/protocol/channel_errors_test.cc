// Soft (channel) errors: channel.close with the reply code and the failing
// method's ids, the connection stays usable, the channel number can be
// reused after close-ok, and until then the channel discards everything but
// close and close-ok (spec 4.2.2 channel.close).
#include <gtest/gtest.h>

#include "common/text.h"
#include "frame_harness.h"

namespace warren::protocol_test {
namespace {

using amqp::ReplyCode;

class ChannelCloseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(c_.Handshake());
    ASSERT_TRUE(c_.OpenChannel(1));
  }
  static std::string PassiveDeclare(uint16_t channel, const std::string& queue) {
    amqp::QueueDeclare d;
    d.queue = queue;
    d.passive = true;
    return MethodFrame(channel, d);
  }
  // The message count of `queue`, by passive declare on `channel`.
  std::optional<uint32_t> MessageCount(uint16_t channel, const std::string& queue) {
    c_.Send(PassiveDeclare(channel, queue));
    auto ok = c_.Expect<amqp::QueueDeclareOk>(channel);
    if (!ok) return std::nullopt;
    return ok->message_count;
  }

  TestNode node_;
  RawClient c_{node_.port()};
};

TEST_F(ChannelCloseTest, PassiveDeclareOfMissingQueueIsNotFound) {
  c_.Send(PassiveDeclare(1, "missing"));
  auto close = c_.Expect<amqp::ChannelClose>(1);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->reply_code, static_cast<uint16_t>(ReplyCode::kNotFound));
  EXPECT_EQ(close->reply_text, "NOT_FOUND - no queue 'missing' in vhost '/'");
  EXPECT_EQ(close->class_id, 50);
  EXPECT_EQ(close->method_id, 10);
  c_.SendMethod(1, amqp::ChannelCloseOk{});
  // The connection and its other channels carry on.
  ASSERT_TRUE(c_.OpenChannel(2));
  EXPECT_TRUE(c_.DeclareQueue(2, "present"));
  EXPECT_TRUE(c_.Close());
}

// A reply text longer than a short string allows is cut as RabbitMQ cuts it
// (252 octets and "..."), between characters: a UTF-8 name stays UTF-8.
TEST_F(ChannelCloseTest, LongReplyTextIsCutBetweenCharacters) {
  std::string name;
  while (name.size() < 254) name += "\xc3\xa9";  // U+00E9, two octets
  c_.Send(PassiveDeclare(1, name));
  auto close = c_.Expect<amqp::ChannelClose>(1);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->reply_code, static_cast<uint16_t>(ReplyCode::kNotFound));
  EXPECT_LE(close->reply_text.size(), 255u);
  EXPECT_TRUE(close->reply_text.ends_with("...")) << close->reply_text;
  EXPECT_TRUE(close->reply_text.starts_with("NOT_FOUND - no queue '\xc3\xa9"));
  EXPECT_TRUE(IsUtf8(close->reply_text)) << "cut inside a character: " << close->reply_text;
}

TEST_F(ChannelCloseTest, ChannelNumberCanBeReopenedAfterCloseOk) {
  c_.Send(PassiveDeclare(1, "missing"));
  ASSERT_TRUE(c_.ExpectChannelClose(1, 404, 50, 10));
  c_.SendMethod(1, amqp::ChannelCloseOk{});
  ASSERT_TRUE(c_.OpenChannel(1));
  EXPECT_TRUE(c_.DeclareQueue(1, "present"));
  // And fails again the same way: the new channel is a fresh one.
  c_.Send(PassiveDeclare(1, "missing"));
  EXPECT_TRUE(c_.ExpectChannelClose(1, 404, 50, 10));
}

TEST_F(ChannelCloseTest, FramesAfterServerCloseAreDiscardedUntilCloseOk) {
  ASSERT_TRUE(c_.DeclareQueue(1, "q"));
  c_.Send(PassiveDeclare(1, "missing"));
  ASSERT_TRUE(c_.ExpectChannelClose(1, 404, 50, 10));
  // Each of these would fail or be answered on an open channel.
  std::string ignored = PassiveDeclare(1, "missing");
  ignored += MethodFrame(1, amqp::BasicQos{10, 0, false});  // 540 on an open channel
  amqp::BasicGet get;
  get.queue = "missing";
  ignored += MethodFrame(1, get);
  ignored += MethodFrame(1, amqp::ChannelFlow{true});
  ignored += PublishFrames(1, "", "q", "dropped");
  ignored += PublishFrames(1, "no-such-exchange", "q", "dropped");
  c_.Send(ignored);
  c_.SendMethod(1, amqp::ChannelCloseOk{});
  // Nothing was answered: the next frame is the reply to this open.
  ASSERT_TRUE(c_.OpenChannel(1));
  EXPECT_EQ(MessageCount(1, "q"), std::optional<uint32_t>(0)) << "a dropped publish was routed";
}

// The one exception RabbitMQ makes (checked against 3.10): channel.open on a
// channel it is closing is still a second channel.open, a connection error.
TEST_F(ChannelCloseTest, ChannelOpenBeforeCloseOkIsASecondOpen) {
  c_.Send(PassiveDeclare(1, "missing"));
  ASSERT_TRUE(c_.ExpectChannelClose(1, 404, 50, 10));
  c_.SendMethod(1, amqp::ChannelOpen{});
  EXPECT_TRUE(c_.ExpectConnectionClose(504, 20, 10));
}

TEST_F(ChannelCloseTest, ChannelCloseCrossingOursIsAnsweredWithCloseOk) {
  c_.Send(PassiveDeclare(1, "missing"));
  ASSERT_TRUE(c_.ExpectChannelClose(1, 404, 50, 10));
  // Both sides closed at once: the server answers our close, and our
  // close-ok answers its close.
  c_.SendMethod(1, amqp::ChannelClose{200, "bye", 0, 0});
  EXPECT_TRUE(c_.Expect<amqp::ChannelCloseOk>(1));
  c_.SendMethod(1, amqp::ChannelCloseOk{});
  EXPECT_TRUE(c_.OpenChannel(1));
}

TEST_F(ChannelCloseTest, ClientChannelCloseIsAnsweredAndFreesTheNumber) {
  c_.SendMethod(1, amqp::ChannelClose{200, "bye", 0, 0});
  ASSERT_TRUE(c_.Expect<amqp::ChannelCloseOk>(1));
  ASSERT_TRUE(c_.OpenChannel(1));
  EXPECT_TRUE(c_.DeclareQueue(1, "after-reopen"));
}

TEST_F(ChannelCloseTest, ErrorOnOneChannelLeavesTheOthersAlone) {
  ASSERT_TRUE(c_.OpenChannel(2));
  ASSERT_TRUE(c_.DeclareQueue(2, "q2"));
  amqp::BasicConsume consume;
  consume.queue = "q2";
  consume.consumer_tag = "ctag";
  consume.no_ack = true;
  c_.SendMethod(2, consume);
  ASSERT_TRUE(c_.Expect<amqp::BasicConsumeOk>(2));
  c_.Send(PassiveDeclare(1, "missing"));
  ASSERT_TRUE(c_.ExpectChannelClose(1, 404, 50, 10));
  // Channel 2's consumer still gets messages.
  c_.Send(PublishFrames(2, "", "q2", "still here"));
  auto deliver = c_.Expect<amqp::BasicDeliver>(2);
  ASSERT_TRUE(deliver);
  EXPECT_EQ(deliver->consumer_tag, "ctag");
  std::string header;
  std::vector<std::string> bodies;
  ASSERT_TRUE(ReadContent(c_, 2, header, bodies));
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0], "still here");
}

TEST_F(ChannelCloseTest, PublishToMissingExchangeIsNotFoundOnThePublish) {
  c_.Send(PublishFrames(1, "no-such-exchange", "rk", "body"));
  EXPECT_TRUE(c_.ExpectChannelClose(1, 404, 60, 40));
  c_.SendMethod(1, amqp::ChannelCloseOk{});
  EXPECT_TRUE(c_.OpenChannel(1));
}

TEST_F(ChannelCloseTest, UserIdOfAnotherUserIsPreconditionFailed) {
  ASSERT_TRUE(c_.DeclareQueue(1, "q"));
  std::string props;
  amqp::Writer w(props);
  w.U16(1 << 4);  // user-id only
  w.ShortStr("mallory");
  c_.Send(PublishFrames(1, "", "q", "x", props));
  auto close = c_.Expect<amqp::ChannelClose>(1);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->reply_code, static_cast<uint16_t>(ReplyCode::kPreconditionFailed));
  EXPECT_EQ(close->reply_text,
            "PRECONDITION_FAILED - user_id property set to 'mallory' but authenticated user "
            "was 'guest'");
  EXPECT_EQ(close->class_id, 60);
  EXPECT_EQ(close->method_id, 40);
}

// Spec 4.2.6: "any non-content frame explicitly marks the end of the
// content ... this allows for a sender to abort the sending of content".
// RabbitMQ accepts channel.close there since rabbitmq-server#11210 (2024;
// 3.10 still answered 505); proxies rely on it to abort a half-sent publish
// without losing the connection.
TEST_F(ChannelCloseTest, ChannelCloseMayAbortAHalfSentPublish) {
  ASSERT_TRUE(c_.DeclareQueue(1, "q"));
  amqp::BasicPublish p;
  p.routing_key = "q";
  std::string out = MethodFrame(1, p);
  out += RawFrame(amqp::kFrameHeader, 1, HeaderPayload(10, NoProperties()));
  out += RawFrame(amqp::kFrameBody, 1, "abc");
  c_.Send(out);
  c_.SendMethod(1, amqp::ChannelClose{200, "abort", 0, 0});
  ASSERT_TRUE(c_.Expect<amqp::ChannelCloseOk>(1));
  ASSERT_TRUE(c_.OpenChannel(1));
  EXPECT_EQ(MessageCount(1, "q"), std::optional<uint32_t>(0))
      << "the aborted message must not be routed";
}

}  // namespace
}  // namespace warren::protocol_test
