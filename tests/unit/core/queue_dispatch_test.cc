// Who gets the next message: priority queues (x-max-priority), single
// active consumer, consumer priorities (x-priority), round-robin,
// exclusive consumers, and nobody while the queue is held.
#include <gtest/gtest.h>

#include "core/core_fixture.h"

namespace warren::core::test {
namespace {

class QueueDispatchTest : public CoreTest {};

TEST_F(QueueDispatchTest, PriorityQueueGivesHigherPriorityFirstAndFifoWithinOne) {
  auto q = DeclareQueue("q", Table({{"x-max-priority", Long(10)}}));
  Publish("", "q", "p1-a", WithPriority(1));
  Publish("", "q", "p5-a", WithPriority(5));
  Publish("", "q", "none");
  Publish("", "q", "p1-b", WithPriority(1));
  Publish("", "q", "p5-b", WithPriority(5));
  EXPECT_EQ(Drain(*q), (Names{"p5-a", "p5-b", "p1-a", "p1-b", "none"}));
}

TEST_F(QueueDispatchTest, PriorityAboveTheMaximumCountsAsTheMaximum) {
  auto q = DeclareQueue("q", Table({{"x-max-priority", Long(5)}}));
  Publish("", "q", "p4", WithPriority(4));
  Publish("", "q", "p5", WithPriority(5));
  Publish("", "q", "p200", WithPriority(200));
  Publish("", "q", "p5-again", WithPriority(5));
  EXPECT_EQ(Drain(*q), (Names{"p5", "p200", "p5-again", "p4"}));
}

// A held queue (a mirrored queue's home that may not serve: restarted and
// not caught up, or without a lease) gives out nothing, not even a message
// that arrives while a consumer waits on the empty queue.
TEST_F(QueueDispatchTest, AHeldQueueGivesOutNothingNewMessagesIncludedUntilReleased) {
  auto q = DeclareQueue("q");
  auto c = Consume(q, "c");
  q->Hold(true);
  Publish("", "q", "while-held");
  EXPECT_EQ(sink_.Log(), Names{});
  EXPECT_FALSE(q->Get(true).has_value());
  EXPECT_EQ(q->ready_count(), 1u);
  q->Hold(false);
  EXPECT_EQ(sink_.Log(), (Names{"c:while-held"}));
}

TEST_F(QueueDispatchTest, QueueWithoutMaxPriorityIgnoresPriority) {
  auto q = DeclareQueue("q");
  Publish("", "q", "low", WithPriority(0));
  Publish("", "q", "high", WithPriority(9));
  EXPECT_EQ(Drain(*q), (Names{"low", "high"}));
}

TEST_F(QueueDispatchTest, PriorityQueueDeliversToConsumerInPriorityOrder) {
  auto q = DeclareQueue("q", Table({{"x-max-priority", Long(3)}}));
  auto c = Consume(q, "c");
  sink_.SetCredit(*c, 0);
  Publish("", "q", "low", WithPriority(1));
  Publish("", "q", "high", WithPriority(3));
  sink_.Unlimit(*c);
  q->TryDeliver();
  EXPECT_EQ(sink_.Log(), (Names{"c:high", "c:low"}));
}

TEST_F(QueueDispatchTest, SingleActiveConsumerOnlyTheFirstReceives) {
  auto q = DeclareQueue("q", Table({{"x-single-active-consumer", amqp::FieldValue::Bool(true)}}));
  auto first = Consume(q, "first");
  auto second = Consume(q, "second");
  EXPECT_EQ(q->active_consumer(), first.get());
  for (const char* b : {"1", "2", "3"}) Publish("", "q", b);
  EXPECT_EQ(sink_.Log(), (Names{"first:1", "first:2", "first:3"}));
}

TEST_F(QueueDispatchTest, SingleActiveConsumerWithoutCreditDoesNotSpillOver) {
  auto q = DeclareQueue("q", Table({{"x-single-active-consumer", amqp::FieldValue::Bool(true)}}));
  auto first = Consume(q, "first");
  Consume(q, "second");
  sink_.SetCredit(*first, 0);
  Publish("", "q", "m");
  EXPECT_TRUE(sink_.deliveries.empty());
  EXPECT_EQ(q->ready_count(), 1u);
}

TEST_F(QueueDispatchTest, SingleActiveConsumerNextTakesOverWhenActiveLeaves) {
  auto q = DeclareQueue("q", Table({{"x-single-active-consumer", amqp::FieldValue::Bool(true)}}));
  auto first = Consume(q, "first");
  auto second = Consume(q, "second");
  sink_.SetCredit(*first, 0);
  Publish("", "q", "waiting");
  Cancel(first);
  EXPECT_EQ(q->active_consumer(), second.get());
  Publish("", "q", "next");
  EXPECT_EQ(sink_.Log(), (Names{"second:waiting", "second:next"}));
}

TEST_F(QueueDispatchTest, WithoutSingleActiveConsumerThereIsNoActiveConsumer) {
  auto q = DeclareQueue("q");
  Consume(q, "c");
  EXPECT_EQ(q->active_consumer(), nullptr);
}

TEST_F(QueueDispatchTest, HigherPriorityConsumerWithCreditGetsEverything) {
  auto q = DeclareQueue("q");
  Consume(q, "low", true, false, /*priority=*/0);
  Consume(q, "high", true, false, /*priority=*/10);
  for (const char* b : {"1", "2", "3"}) Publish("", "q", b);
  EXPECT_EQ(sink_.Log(), (Names{"high:1", "high:2", "high:3"}));
}

TEST_F(QueueDispatchTest, LowerPriorityConsumerGetsMessagesOnlyWhenHigherHasNoCredit) {
  auto q = DeclareQueue("q");
  auto low = Consume(q, "low", true, false, 0);
  auto high = Consume(q, "high", true, false, 10);
  sink_.SetCredit(*high, 1);
  for (const char* b : {"1", "2", "3"}) Publish("", "q", b);
  EXPECT_EQ(sink_.Log(), (Names{"high:1", "low:2", "low:3"}));
  sink_.SetCredit(*high, 5);
  Publish("", "q", "4");
  EXPECT_EQ(sink_.BodiesFor("high"), (Names{"1", "4"}));
}

TEST_F(QueueDispatchTest, NegativeConsumerPriorityRanksBelowDefault) {
  auto q = DeclareQueue("q");
  Consume(q, "neg", true, false, -5);
  Consume(q, "default", true, false, 0);
  Publish("", "q", "m");
  EXPECT_EQ(sink_.Log(), (Names{"default:m"}));
}

TEST_F(QueueDispatchTest, EqualConsumersShareRoundRobin) {
  auto q = DeclareQueue("q");
  Consume(q, "a");
  Consume(q, "b");
  Consume(q, "c");
  for (const char* b : {"1", "2", "3", "4", "5", "6"}) Publish("", "q", b);
  EXPECT_EQ(sink_.Log(), (Names{"a:1", "b:2", "c:3", "a:4", "b:5", "c:6"}));
}

TEST_F(QueueDispatchTest, RoundRobinRunsAmongTheHighestPriorityOnly) {
  auto q = DeclareQueue("q");
  Consume(q, "h1", true, false, 5);
  Consume(q, "low", true, false, 0);
  Consume(q, "h2", true, false, 5);
  for (const char* b : {"1", "2", "3", "4"}) Publish("", "q", b);
  EXPECT_EQ(sink_.Log(), (Names{"h1:1", "h2:2", "h1:3", "h2:4"}));
}

TEST_F(QueueDispatchTest, RoundRobinSkipsAConsumerWithoutCredit) {
  auto q = DeclareQueue("q");
  auto a = Consume(q, "a");
  Consume(q, "b");
  sink_.SetCredit(*a, 0);
  Publish("", "q", "1");
  Publish("", "q", "2");
  EXPECT_EQ(sink_.Log(), (Names{"b:1", "b:2"}));
}

TEST_F(QueueDispatchTest, BacklogIsDeliveredWhenCreditReturns) {
  auto q = DeclareQueue("q");
  auto c = Consume(q, "c");
  sink_.SetCredit(*c, 0);
  Publish("", "q", "1");
  Publish("", "q", "2");
  Publish("", "q", "3");
  EXPECT_TRUE(sink_.deliveries.empty());
  sink_.SetCredit(*c, 2);
  q->TryDeliver();
  EXPECT_EQ(sink_.Log(), (Names{"c:1", "c:2"}));
  EXPECT_EQ(q->ready_count(), 1u);
}

TEST_F(QueueDispatchTest, ConsumerAddedToAQueueWithMessagesGetsThemAtOnce) {
  auto q = DeclareQueue("q");
  Publish("", "q", "1");
  Publish("", "q", "2");
  Consume(q, "late");
  EXPECT_EQ(sink_.Log(), (Names{"late:1", "late:2"}));
}

TEST_F(QueueDispatchTest, ExclusiveConsumerIsRefusedWhenTheQueueHasConsumers) {
  auto q = DeclareQueue("q");
  Consume(q, "plain");
  Status s = q->CanAddConsumer(/*exclusive=*/true);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kAccessRefused));
  EXPECT_EQ(s.error().text, "ACCESS_REFUSED - queue 'q' in vhost '/' in exclusive use");
  EXPECT_TRUE(q->CanAddConsumer(/*exclusive=*/false).ok()) << "plain consumers may share";
}

TEST_F(QueueDispatchTest, NoConsumerMayJoinAnExclusiveConsumer) {
  auto q = DeclareQueue("q");
  Consume(q, "owner", true, /*exclusive=*/true);
  for (bool exclusive : {false, true}) {
    Status s = q->CanAddConsumer(exclusive);
    ASSERT_FALSE(s.ok()) << exclusive;
    EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kAccessRefused));
    EXPECT_EQ(s.error().text, "ACCESS_REFUSED - queue 'q' in vhost '/' in exclusive use");
  }
}

TEST_F(QueueDispatchTest, ExclusiveConsumerOnAnIdleQueueIsAllowedAndReleasedOnCancel) {
  auto q = DeclareQueue("q");
  EXPECT_TRUE(q->CanAddConsumer(true).ok());
  auto owner = Consume(q, "owner", true, true);
  EXPECT_FALSE(q->CanAddConsumer(false).ok());
  Cancel(owner);
  EXPECT_TRUE(q->CanAddConsumer(false).ok());
  EXPECT_TRUE(q->CanAddConsumer(true).ok());
}

}  // namespace
}  // namespace warren::core::test
