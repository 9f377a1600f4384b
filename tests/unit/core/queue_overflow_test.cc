// Queue length limits: x-max-length and x-max-length-bytes with each
// x-overflow behaviour (RabbitMQ 3.13, "Queue Length Limit").
#include <gtest/gtest.h>

#include "core/core_fixture.h"

namespace warren::core::test {
namespace {

class QueueOverflowTest : public CoreTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(DeclareExchange("dlx", "fanout").ok());
    dead_ = DeclareQueue("dead");
    Bind("dead", "dlx", "");
  }

  std::shared_ptr<Queue> Limited(amqp::FieldTable args) {
    args.Set("x-dead-letter-exchange", Str("dlx"));
    return DeclareQueue("q", std::move(args));
  }

  std::string DeathReason() {
    MessagePtr m = Only(*dead_);
    if (!m || !m->properties().headers) return "<no message>";
    return HeaderStr(*m->properties().headers, "x-first-death-reason");
  }

  std::shared_ptr<Queue> dead_;
};

// No x-overflow: drop-head, the default.
TEST_F(QueueOverflowTest, MaxLengthDropHeadDeadLettersTheOldestWithReasonMaxlen) {
  auto q = Limited(Table({{"x-max-length", Long(2)}}));
  for (const char* body : {"a", "b", "c"}) {
    PublishOutcome out = Publish("", "q", body);
    EXPECT_FALSE(out.rejected);
    EXPECT_EQ(out.routed, 1u) << "the new message is taken even when the head goes";
  }
  MessagePtr oldest = Only(*dead_);
  ASSERT_TRUE(oldest && oldest->properties().headers);
  EXPECT_EQ(oldest->body, "a");
  EXPECT_EQ(HeaderStr(*oldest->properties().headers, "x-first-death-reason"), "maxlen");
  EXPECT_EQ(Drain(*q), (Names{"b", "c"}));
  Publish("", "q", "x");
  Publish("", "q", "y");
  Publish("", "q", "z");
  EXPECT_EQ(Drain(*dead_), (Names{"x"}));
}

TEST_F(QueueOverflowTest, MaxLengthZeroWithoutAConsumerKeepsNothing) {
  auto q = Limited(Table({{"x-max-length", Long(0)}}));
  EXPECT_EQ(Publish("", "q", "m").routed, 1u);
  EXPECT_EQ(q->ready_count(), 0u);
  EXPECT_EQ(Drain(*dead_), (Names{"m"}));
}

TEST_F(QueueOverflowTest, MaxLengthBytesDropHeadCountsBodyBytes) {
  auto q = Limited(Table({{"x-max-length-bytes", Long(10)}}));
  Publish("", "q", "aaaa");
  Publish("", "q", "bbbb");
  EXPECT_EQ(q->ready_bytes(), 8u);
  Publish("", "q", "cccc");
  EXPECT_EQ(q->ready_bytes(), 8u);
  EXPECT_EQ(DeathReason(), "maxlen");
  EXPECT_EQ(Drain(*q), (Names{"bbbb", "cccc"}));
}

TEST_F(QueueOverflowTest, MaxLengthBytesDropsAsManyHeadsAsNeeded) {
  auto q = Limited(Table({{"x-max-length-bytes", Long(6)}}));
  Publish("", "q", "12");
  Publish("", "q", "34");
  Publish("", "q", "56");
  Publish("", "q", "789012");
  EXPECT_EQ(Drain(*dead_), (Names{"12", "34", "56"}));
  EXPECT_EQ(Drain(*q), (Names{"789012"}));
}

TEST_F(QueueOverflowTest, RejectPublishRefusesTheNewMessageAndEnqueuesNothing) {
  auto q = Limited(Table({{"x-max-length", Long(1)}, {"x-overflow", Str("reject-publish")}}));
  PublishOutcome first = Publish("", "q", "a");
  EXPECT_FALSE(first.rejected);
  EXPECT_EQ(first.routed, 1u);
  PublishOutcome second = Publish("", "q", "b");
  EXPECT_TRUE(second.rejected);
  EXPECT_EQ(second.routed, 0u);
  EXPECT_EQ(dead_->ready_count(), 0u) << "reject-publish does not dead-letter";
  EXPECT_EQ(q->counters().published, 1u);
  EXPECT_EQ(Drain(*q), (Names{"a"}));
  EXPECT_FALSE(Publish("", "q", "c").rejected) << "room again once the queue is drained";
}

TEST_F(QueueOverflowTest, RejectPublishByBytes) {
  auto q = Limited(Table({{"x-max-length-bytes", Long(5)}, {"x-overflow", Str("reject-publish")}}));
  EXPECT_FALSE(Publish("", "q", "123").rejected);
  EXPECT_TRUE(Publish("", "q", "456").rejected);
  EXPECT_FALSE(Publish("", "q", "45").rejected);
  EXPECT_EQ(Drain(*q), (Names{"123", "45"}));
}

TEST_F(QueueOverflowTest, RejectPublishDlxRejectsAndDeadLetters) {
  auto q = Limited(Table({{"x-max-length", Long(1)}, {"x-overflow", Str("reject-publish-dlx")}}));
  Publish("", "q", "a");
  PublishOutcome out = Publish("", "q", "b");
  EXPECT_TRUE(out.rejected);
  EXPECT_EQ(out.routed, 0u);
  MessagePtr m = Only(*dead_);
  ASSERT_TRUE(m && m->properties().headers);
  EXPECT_EQ(m->body, "b") << "the refused message, not the head";
  EXPECT_EQ(HeaderStr(*m->properties().headers, "x-first-death-reason"), "maxlen");
  EXPECT_EQ(HeaderStr(Entry(Deaths(*m), 0), "reason"), "maxlen");
  EXPECT_EQ(HeaderStr(Entry(Deaths(*m), 0), "queue"), "q");
  EXPECT_EQ(Drain(*q), (Names{"a"}));
}

TEST_F(QueueOverflowTest, RejectPublishCountsOnlyReadyMessages) {
  auto q = Limited(Table({{"x-max-length", Long(1)}, {"x-overflow", Str("reject-publish")}}));
  Publish("", "q", "a");
  ASSERT_TRUE(q->Get(false));
  EXPECT_FALSE(Publish("", "q", "b").rejected) << "an unacked message takes no room";
}

TEST_F(QueueOverflowTest, RejectionByOneQueueLeavesOtherQueuesRouted) {
  ASSERT_TRUE(DeclareExchange("fan", "fanout").ok());
  auto full = DeclareQueue("full", Table({{"x-max-length", Long(0)},
                                          {"x-overflow", Str("reject-publish")}}));
  auto open = DeclareQueue("open");
  Bind("full", "fan", "");
  Bind("open", "fan", "");
  PublishOutcome out = Publish("fan", "", "m");
  EXPECT_TRUE(out.rejected);
  EXPECT_EQ(out.routed, 1u);
  EXPECT_EQ(open->ready_count(), 1u);
  EXPECT_EQ(full->ready_count(), 0u);
}

// RabbitMQ's classic queue hands a message to a waiting consumer before it
// enqueues, and applies drop-head only to what it enqueued
// (rabbit_amqqueue_process:deliver_or_enqueue: attempt_delivery, then
// publish + maybe_drop_head).
TEST_F(QueueOverflowTest, DropHeadStillDeliversToAWaitingConsumer) {
  auto q = Limited(Table({{"x-max-length", Long(0)}}));
  Consume(q, "c");
  Publish("", "q", "m");
  EXPECT_EQ(sink_.Log(), (Names{"c:m"}));
  EXPECT_EQ(dead_->ready_count(), 0u);
}

// ...but reject-publish checks the length first (will_overflow runs before
// attempt_delivery), so a full queue refuses even with a consumer waiting.
TEST_F(QueueOverflowTest, RejectPublishRefusesEvenWithAWaitingConsumer) {
  auto q = Limited(Table({{"x-max-length", Long(0)}, {"x-overflow", Str("reject-publish")}}));
  Consume(q, "c");
  EXPECT_TRUE(Publish("", "q", "m").rejected);
  EXPECT_TRUE(sink_.deliveries.empty());
}

// RabbitMQ (requeue_and_run) applies drop-head after a requeue too: the
// requeued message is the oldest, so it is the one dropped.
TEST_F(QueueOverflowTest, RequeueBeyondMaxLengthDropsTheHead) {
  auto q = Limited(Table({{"x-max-length", Long(1)}}));
  Publish("", "q", "a");
  auto e = q->Get(false);
  ASSERT_TRUE(e);
  Publish("", "q", "b");
  q->Requeue({*e});
  EXPECT_EQ(q->ready_count(), 1u);
  EXPECT_EQ(Drain(*dead_), (Names{"a"}));
  EXPECT_EQ(Drain(*q), (Names{"b"}));
}

}  // namespace
}  // namespace warren::core::test
