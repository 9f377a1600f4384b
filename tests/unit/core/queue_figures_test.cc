// What a queue reports of itself beyond its counts: bytes unacknowledged,
// persistent and in memory, its head, when it became idle, its consumer
// capacity (RabbitMQ's moving average with a 1 s half-life) and its memory.
#include "core/core_fixture.h"

namespace warren::core::test {
namespace {

class QueueFiguresTest : public CoreTest {
 protected:
  static amqp::BasicProperties Persistent() {
    amqp::BasicProperties p;
    p.delivery_mode = 2;
    return p;
  }
  int64_t WallMs() const { return runtime_.WallSeconds() * 1000; }
};

TEST_F(QueueFiguresTest, BytesPersistentAndInMemoryFollowTheMessages) {
  auto r = TryDeclare("d", {}, /*durable=*/true);
  ASSERT_TRUE(r.ok());
  auto q = vh_->FindQueue("d");
  Publish("", "d", std::string(10, 'a'), Persistent());
  Publish("", "d", std::string(20, 'b'), Persistent());
  Publish("", "d", std::string(5, 'c'));
  EXPECT_EQ(q->ready_bytes(), 35u);
  EXPECT_EQ(q->persistent_count(), 2u);
  EXPECT_EQ(q->persistent_bytes(), 30u);
  EXPECT_EQ(q->ram_count(), 3u);
  EXPECT_EQ(q->ram_bytes(), 35u);
  ASSERT_NE(q->head(), nullptr);
  EXPECT_EQ(q->head()->size, 10u);

  auto e = q->Get(/*no_ack=*/false);
  ASSERT_TRUE(e);
  EXPECT_EQ(q->unacked_bytes(), 10u);
  EXPECT_EQ(q->persistent_count(), 2u);  // unacknowledged, still the queue's
  EXPECT_EQ(q->ram_count(), 3u);
  EXPECT_EQ(q->ram_bytes(), 35u);
  q->Ack(*e);
  EXPECT_EQ(q->unacked_bytes(), 0u);
  EXPECT_EQ(q->persistent_count(), 1u);
  EXPECT_EQ(q->persistent_bytes(), 20u);
  EXPECT_EQ(q->ram_bytes(), 25u);

  auto again = q->Get(false);
  ASSERT_TRUE(again);
  q->Requeue({*again});  // back to ready: still persistent, no longer unacked
  EXPECT_EQ(q->unacked_bytes(), 0u);
  EXPECT_EQ(q->persistent_count(), 1u);
  q->Purge();
  EXPECT_EQ(q->persistent_count(), 0u);
  EXPECT_EQ(q->persistent_bytes(), 0u);
  EXPECT_EQ(q->ram_count(), 0u);
  EXPECT_EQ(q->head(), nullptr);
}

TEST_F(QueueFiguresTest, DeliveriesAreCountedByKindAndEmptyGetsApart) {
  auto q = DeclareQueue("k");
  Publish("", "k", "1");
  Publish("", "k", "2");
  ASSERT_TRUE(q->Get(/*no_ack=*/false));
  ASSERT_TRUE(q->Get(/*no_ack=*/true));
  EXPECT_FALSE(q->Get(true));
  auto automatic = Consume(q, "auto", /*no_ack=*/true);
  Publish("", "k", "3");
  Publish("", "k", "4");
  Cancel(automatic);
  Consume(q, "manual", /*no_ack=*/false);
  Publish("", "k", "5");
  const QueueCounters& c = q->counters();
  EXPECT_EQ(c.delivered_get_manual_ack, 1u);
  EXPECT_EQ(c.delivered_get_auto_ack, 1u);
  EXPECT_EQ(c.get_empty, 1u);
  EXPECT_EQ(c.delivered_consume_auto_ack, 2u);
  EXPECT_EQ(c.delivered_consume_manual_ack, 1u);
  EXPECT_EQ(c.delivered, 5u) << "every delivery is of one kind";
}

TEST_F(QueueFiguresTest, PersistentMessagesOfATransientQueueAreNotCountedPersistent) {
  auto q = DeclareQueue("t");
  Publish("", "t", "x", Persistent());
  EXPECT_EQ(q->persistent_count(), 0u);
  EXPECT_EQ(q->ram_count(), 1u);
}

TEST_F(QueueFiguresTest, IdleSinceItsLastActivityOnceASecondHasPassed) {
  auto q = DeclareQueue("idle");
  EXPECT_EQ(q->IdleSinceMs(WallMs()), 0);
  runtime_.Advance(999);
  EXPECT_EQ(q->IdleSinceMs(WallMs()), 0);
  runtime_.Advance(1);
  EXPECT_EQ(q->IdleSinceMs(WallMs()), WallMs() - 1000);
  Publish("", "idle", "x");  // activity: active again
  EXPECT_EQ(q->IdleSinceMs(WallMs()), 0);
  runtime_.Advance(1500);
  EXPECT_EQ(q->IdleSinceMs(WallMs()), WallMs() - 1500);
  auto c = Consume(q, "c", /*no_ack=*/false);
  EXPECT_EQ(q->IdleSinceMs(WallMs()), 0);
  runtime_.Advance(2000);
  EXPECT_EQ(q->IdleSinceMs(WallMs()), WallMs() - 2000);
  // An ack: the channel settles it, then resumes its consumers' queues.
  q->Ack(sink_.deliveries.at(0).entry);
  q->TryDeliver();
  EXPECT_EQ(q->IdleSinceMs(WallMs()), 0);
}

TEST_F(QueueFiguresTest, ConsumerCapacityIsTheMovingAverageOfTimeConsumersCouldTake) {
  auto q = DeclareQueue("cap");
  EXPECT_EQ(q->consumer_capacity(), 0.0);  // no consumers
  auto c = Consume(q, "c", /*no_ack=*/false);
  EXPECT_EQ(q->consumer_capacity(), 1.0);  // never blocked

  // Blocked (prefetch) with a message ready for one second: half of the
  // average is lost to it (1 s half-life).
  sink_.SetCredit(*c, 0);
  Publish("", "cap", "1");
  EXPECT_EQ(q->ready_count(), 1u);
  runtime_.Advance(1000);
  EXPECT_DOUBLE_EQ(q->consumer_capacity(), 0.5);

  // Unblocked: it takes the message, and a second of being able to deliver
  // brings the average halfway back.
  sink_.SetCredit(*c, 10);
  q->TryDeliver();
  EXPECT_EQ(q->ready_count(), 0u);
  EXPECT_DOUBLE_EQ(q->consumer_capacity(), 0.5);
  runtime_.Advance(1000);
  EXPECT_DOUBLE_EQ(q->consumer_capacity(), 0.75);

  Cancel(c);
  EXPECT_EQ(q->consumer_capacity(), 0.0);
}

TEST_F(QueueFiguresTest, MemoryCountsEntriesAndBodiesHeld) {
  auto q = DeclareQueue("mem");
  uint64_t empty = q->memory_bytes();
  EXPECT_GE(empty, sizeof(Queue));
  Publish("", "mem", std::string(1000, 'x'));
  EXPECT_GE(q->memory_bytes(), empty + 1000 + sizeof(QueueEntry));
  Drain(*q);
  EXPECT_EQ(q->memory_bytes(), empty);
}

}  // namespace
}  // namespace warren::core::test
