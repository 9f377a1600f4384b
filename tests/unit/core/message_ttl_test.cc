// Message TTL: x-message-ttl, the expiration property, expiry at the head
// only, and what expiry does with the message (RabbitMQ 3.13, "Time-To-Live
// and Expiration").
#include <gtest/gtest.h>

#include "core/core_fixture.h"

namespace warren::core::test {
namespace {

class MessageTtlTest : public CoreTest {
 protected:
  // A fanout "dlx" feeding queue "dead", for checking what expired.
  std::shared_ptr<Queue> DeadLetterSink() {
    EXPECT_TRUE(DeclareExchange("dlx", "fanout").ok());
    auto dead = DeclareQueue("dead");
    Bind("dead", "dlx", "");
    return dead;
  }
};

TEST_F(MessageTtlTest, QueueTtlExpiresMessageAtItsDeadlineAndNotBefore) {
  auto q = DeclareQueue("q", Table({{"x-message-ttl", Long(1000)}}));
  Publish("", "q", "m");
  runtime_.Advance(999);
  EXPECT_EQ(q->ready_count(), 1u);
  runtime_.Advance(1);
  EXPECT_EQ(q->ready_count(), 0u);
  EXPECT_EQ(q->counters().dead_lettered, 1u);
}

TEST_F(MessageTtlTest, PerMessageExpirationShorterThanQueueTtlWins) {
  auto q = DeclareQueue("q", Table({{"x-message-ttl", Long(1000)}}));
  Publish("", "q", "m", Expiring("300"));
  runtime_.Advance(299);
  EXPECT_EQ(q->ready_count(), 1u);
  runtime_.Advance(1);
  EXPECT_EQ(q->ready_count(), 0u);
}

TEST_F(MessageTtlTest, QueueTtlShorterThanPerMessageExpirationWins) {
  auto q = DeclareQueue("q", Table({{"x-message-ttl", Long(200)}}));
  Publish("", "q", "m", Expiring("5000"));
  runtime_.Advance(199);
  EXPECT_EQ(q->ready_count(), 1u);
  runtime_.Advance(1);
  EXPECT_EQ(q->ready_count(), 0u);
}

TEST_F(MessageTtlTest, PerMessageExpirationAppliesWithoutQueueTtl) {
  auto q = DeclareQueue("q");
  Publish("", "q", "short", Expiring("50"));
  Publish("", "q", "forever");
  runtime_.Advance(50);
  EXPECT_EQ(Drain(*q), (Names{"forever"}));
}

TEST_F(MessageTtlTest, ShortTtlMessageBehindLongOneIsNotExpiredEarly) {
  auto dead = DeadLetterSink();
  auto q = DeclareQueue("q", Table({{"x-dead-letter-exchange", Str("dlx")}}));
  Publish("", "q", "long", Expiring("1000"));
  Publish("", "q", "short", Expiring("100"));
  runtime_.Advance(100);
  EXPECT_EQ(q->ready_count(), 2u) << "only the head may expire";
  runtime_.Advance(899);
  EXPECT_EQ(q->ready_count(), 2u);
  EXPECT_EQ(dead->ready_count(), 0u);
  // Once the head expires, the already-expired message behind it goes too.
  runtime_.Advance(1);
  EXPECT_EQ(q->ready_count(), 0u);
  EXPECT_EQ(Drain(*dead), (Names{"long", "short"}));
}

TEST_F(MessageTtlTest, ExpiryTimerIsRearmedForTheNextHead) {
  auto q = DeclareQueue("q");
  Publish("", "q", "a", Expiring("100"));
  Publish("", "q", "b", Expiring("300"));
  runtime_.Advance(100);
  EXPECT_EQ(q->ready_count(), 1u);
  runtime_.Advance(199);
  EXPECT_EQ(q->ready_count(), 1u);
  runtime_.Advance(1);
  EXPECT_EQ(q->ready_count(), 0u);
}

TEST_F(MessageTtlTest, BasicGetDropsAnExpiredHeadBeforeItsTimerRuns) {
  auto q = DeclareQueue("q");
  Publish("", "q", "old", Expiring("10"));
  Publish("", "q", "new");
  runtime_.SetNowMs(runtime_.NowMs() + 50);  // past the deadline; no timer has run
  auto e = q->Get(true);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message->body, "new");
}

TEST_F(MessageTtlTest, ExpiredMessageIsNeverDeliveredToALaterConsumer) {
  auto q = DeclareQueue("q", Table({{"x-message-ttl", Long(100)}}));
  Publish("", "q", "old");
  runtime_.Advance(150);
  Publish("", "q", "new");
  Consume(q, "c");
  EXPECT_EQ(sink_.Log(), (Names{"c:new"}));
}

TEST_F(MessageTtlTest, MessageExpiresWhileItsConsumerHasNoCredit) {
  auto dead = DeadLetterSink();
  auto q = DeclareQueue("q", Table({{"x-message-ttl", Long(100)},
                                    {"x-dead-letter-exchange", Str("dlx")}}));
  auto c = Consume(q, "c");
  sink_.SetCredit(*c, 0);
  Publish("", "q", "m");
  runtime_.Advance(100);
  EXPECT_TRUE(sink_.deliveries.empty());
  EXPECT_EQ(Drain(*dead), (Names{"m"}));
}

TEST_F(MessageTtlTest, UnackedMessageDoesNotExpireButExpiresWhenRequeuedPastItsTtl) {
  auto dead = DeadLetterSink();
  auto q = DeclareQueue("q", Table({{"x-message-ttl", Long(100)},
                                    {"x-dead-letter-exchange", Str("dlx")}}));
  Publish("", "q", "m");
  auto e = q->Get(/*no_ack=*/false);
  ASSERT_TRUE(e);
  runtime_.Advance(500);
  EXPECT_EQ(dead->ready_count(), 0u) << "an unacked message is not expired";
  q->Requeue({*e});
  EXPECT_EQ(q->ready_count(), 0u);
  EXPECT_EQ(q->unacked_count(), 0u);
  MessagePtr m = Only(*dead);
  ASSERT_TRUE(m && m->properties().headers);
  EXPECT_EQ(HeaderStr(*m->properties().headers, "x-first-death-reason"), "expired");
}

TEST_F(MessageTtlTest, MessageTtlZeroWithoutConsumerExpiresAtOnce) {
  auto dead = DeadLetterSink();
  auto q = DeclareQueue("q", Table({{"x-message-ttl", Long(0)},
                                    {"x-dead-letter-exchange", Str("dlx")}}));
  Publish("", "q", "m");
  EXPECT_EQ(q->ready_count(), 0u);
  EXPECT_EQ(dead->ready_count(), 1u);
}

// RabbitMQ: with x-message-ttl 0 "messages will be expired upon reaching a
// queue unless they can be delivered to a consumer immediately" (the
// classic queue tries a waiting consumer before it enqueues).
TEST_F(MessageTtlTest, MessageTtlZeroStillDeliversToAWaitingConsumer) {
  auto q = DeclareQueue("q", Table({{"x-message-ttl", Long(0)}}));
  Consume(q, "c");
  Publish("", "q", "m");
  EXPECT_EQ(sink_.Log(), (Names{"c:m"}));
  EXPECT_EQ(q->counters().dead_lettered, 0u);
}

// The node's steady clock counts from boot and hardly ever reads 0, but a
// deadline that lands on monotonic 0 is still a deadline, not "never".
TEST_F(MessageTtlTest, DeadlineAtMonotonicZeroIsARealDeadline) {
  runtime_.SetNowMs(0);
  auto q = DeclareQueue("q", Table({{"x-message-ttl", Long(0)}}));
  Publish("", "q", "m");
  runtime_.Advance(10);
  EXPECT_EQ(q->ready_count(), 0u);
}

TEST(ParseExpirationTest, AcceptsOnlyNonNegativeDecimalIntegers) {
  int64_t ms = -1;
  EXPECT_TRUE(ParseExpiration("0", ms));
  EXPECT_EQ(ms, 0);
  EXPECT_TRUE(ParseExpiration("60000", ms));
  EXPECT_EQ(ms, 60000);
  for (const char* bad : {"", "-1", "1.5", " 10", "10 ", "abc", "1e3", "1234567890123456789"})
    EXPECT_FALSE(ParseExpiration(bad, ms)) << "'" << bad << "'";
}

// RabbitMQ bounds every expiry by ?MAX_EXPIRY_TIMER (4294967295 ms, what
// erlang:send_after takes): rabbit_misc:check_expiry answers
// {value_too_big, N} above it, and the publish is refused with 406.
TEST(ParseExpirationTest, RefusesValuesAboveRabbitMqsMaximumExpiry) {
  int64_t ms = -1;
  EXPECT_TRUE(ParseExpiration("4294967295", ms));
  EXPECT_EQ(ms, 4294967295);
  EXPECT_FALSE(ParseExpiration("4294967296", ms));
  EXPECT_FALSE(ParseExpiration("999999999999999999", ms));
}

TEST(MakeMessageTest, TtlComesFromAValidExpirationOnly) {
  amqp::BasicProperties p;
  p.expiration = "250";
  EXPECT_EQ(MakeMessage("", "k", p, "b")->ttl_ms, 250);
  p.expiration = "soon";
  EXPECT_FALSE(MakeMessage("", "k", p, "b")->ttl_ms.has_value());
  EXPECT_FALSE(MakeMessage("", "k", {}, "b")->ttl_ms.has_value());
}

}  // namespace
}  // namespace warren::core::test
