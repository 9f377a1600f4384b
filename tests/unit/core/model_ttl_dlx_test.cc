// Message TTL and dead-lettering (RabbitMQ 3.13 semantics), through VHost.
#include "core/model_fixture.h"

namespace warren::core::model_test {
namespace {

class TtlDlxTest : public ModelTest {
 protected:
  // "dlx" (fanout) -> "dlq"; "work" dead-letters into it.
  void SetUpDlx(amqp::FieldTable work_args) {
    ASSERT_TRUE(DeclareExchange("dlx", "fanout").ok());
    dlq_ = Declare("dlq");
    Bind("dlq", "dlx", "");
    work_args.Set("x-dead-letter-exchange", S("dlx"));
    work_ = Declare("work", std::move(work_args));
    ASSERT_NE(work_, nullptr);
  }
  std::shared_ptr<Queue> dlq_, work_;
};

TEST_F(TtlDlxTest, QueueTtlExpiresAtDeadline) {
  auto q = Declare("q", Args({{"x-message-ttl", L(1000)}}));
  ToQueue("q", "a");
  rt_.Advance(999);
  EXPECT_EQ(q->ready_count(), 1u);
  rt_.Advance(1);
  EXPECT_EQ(q->ready_count(), 0u);
  EXPECT_EQ(q->counters().dead_lettered, 1u);
}

TEST_F(TtlDlxTest, PerMessageExpirationAloneExpires) {
  auto q = Declare("q");
  ToQueue("q", "a", "500");
  ToQueue("q", "b");
  rt_.Advance(500);
  EXPECT_EQ(Drain(*q), Strings{"b"});
}

TEST_F(TtlDlxTest, SmallerOfQueueAndMessageTtlWins) {
  auto q = Declare("q", Args({{"x-message-ttl", L(1000)}}));
  ToQueue("q", "short", "200");
  rt_.Advance(200);
  EXPECT_EQ(q->ready_count(), 0u);

  ToQueue("q", "long", "5000");  // the queue's 1000 wins
  rt_.Advance(999);
  EXPECT_EQ(q->ready_count(), 1u);
  rt_.Advance(1);
  EXPECT_EQ(q->ready_count(), 0u);
}

TEST_F(TtlDlxTest, ExpiryOnlyAtHead) {
  auto q = Declare("q");
  ToQueue("q", "slow", "10000");
  ToQueue("q", "fast", "100");
  rt_.Advance(5000);
  // "fast" is past its TTL but behind an unexpired head: still counted.
  EXPECT_EQ(q->ready_count(), 2u);
  rt_.Advance(5000);
  // Once the head goes, the expired one behind it goes too.
  EXPECT_EQ(q->ready_count(), 0u);
}

TEST_F(TtlDlxTest, GetSkipsExpiredHead) {
  auto q = Declare("q");
  ToQueue("q", "old", "10");
  ToQueue("q", "new");
  rt_.SetNowMs(rt_.NowMs() + 50);  // clock moves without timers running
  auto e = q->Get(true);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->message->body, "new");
}

TEST_F(TtlDlxTest, ExpiredMessageIsDeadLetteredWithXDeath) {
  SetUpDlx(Args({{"x-message-ttl", L(100)}}));
  rt_.Advance(3000);  // WallSeconds = base + 3
  vh_->Publish(nullptr, Msg("m", "", "work"));
  rt_.Advance(100);
  ASSERT_EQ(work_->ready_count(), 0u);
  ASSERT_EQ(dlq_->ready_count(), 1u);
  auto e = dlq_->Get(true);
  ASSERT_TRUE(e);
  const Message& m = *e->message;
  EXPECT_EQ(m.body, "m");
  EXPECT_EQ(m.exchange, "dlx");
  EXPECT_EQ(m.routing_key, "work");  // original key kept without override

  const amqp::FieldArray* deaths = Deaths(m);
  ASSERT_NE(deaths, nullptr);
  ASSERT_EQ(deaths->size(), 1u);
  const amqp::FieldTable* d = Death(m, 0);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(TableInt(*d, "count"), 1);
  EXPECT_EQ(TableStr(*d, "reason"), "expired");
  EXPECT_EQ(TableStr(*d, "queue"), "work");
  EXPECT_EQ(TableStr(*d, "exchange"), "");
  const amqp::FieldValue* keys = d->Find("routing-keys");
  ASSERT_NE(keys, nullptr);
  ASSERT_NE(keys->AsArray(), nullptr);
  ASSERT_EQ(keys->AsArray()->size(), 1u);
  EXPECT_EQ(*(*keys->AsArray())[0].AsString(), "work");
  const amqp::FieldValue* time = d->Find("time");
  ASSERT_NE(time, nullptr);
  EXPECT_EQ(time->type, 'T');
  EXPECT_EQ(time->AsInt(), ManualRuntime::kWallBase + 3);
  EXPECT_EQ(d->Find("original-expiration"), nullptr);  // only a queue TTL applied

  EXPECT_EQ(HeaderStr(m, "x-first-death-reason"), "expired");
  EXPECT_EQ(HeaderStr(m, "x-first-death-queue"), "work");
  EXPECT_EQ(HeaderStr(m, "x-first-death-exchange"), "");
}

TEST_F(TtlDlxTest, PerMessageExpirationMovesToOriginalExpiration) {
  SetUpDlx({});
  ToQueue("work", "m", "50");
  rt_.Advance(50);
  auto e = dlq_->Get(true);
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->message->properties().expiration.has_value());
  EXPECT_FALSE(e->message->ttl_ms.has_value());
  const amqp::FieldTable* d = Death(*e->message, 0);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(TableStr(*d, "original-expiration"), "50");
}

TEST_F(TtlDlxTest, RejectWithoutRequeueDeadLettersAsRejected) {
  SetUpDlx({});
  RecordingSink& sink = Sink();
  auto c = Consume(work_, sink, "c1");
  ToQueue("work", "m");
  ASSERT_EQ(sink.deliveries.size(), 1u);
  EXPECT_EQ(work_->unacked_count(), 1u);
  work_->Reject(std::move(sink.deliveries[0].entry));
  EXPECT_EQ(work_->unacked_count(), 0u);
  auto e = dlq_->Get(true);
  ASSERT_TRUE(e);
  const amqp::FieldTable* d = Death(*e->message, 0);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(TableStr(*d, "reason"), "rejected");
  EXPECT_EQ(TableStr(*d, "queue"), "work");
  EXPECT_EQ(HeaderStr(*e->message, "x-first-death-reason"), "rejected");
}

TEST_F(TtlDlxTest, DeadLetterRoutingKeyOverride) {
  ASSERT_TRUE(DeclareExchange("dlx", "direct").ok());
  auto target = Declare("target");
  auto other = Declare("other");
  Bind("target", "dlx", "redirected");
  Bind("other", "dlx", "work");
  auto work = Declare("work", Args({{"x-dead-letter-exchange", S("dlx")},
                                    {"x-dead-letter-routing-key", S("redirected")},
                                    {"x-message-ttl", L(10)}}));
  ToQueue("work", "m");
  rt_.Advance(10);
  EXPECT_EQ(other->ready_count(), 0u);
  ASSERT_EQ(target->ready_count(), 1u);
  auto e = target->Get(true);
  EXPECT_EQ(e->message->routing_key, "redirected");
  // x-death records the key the message had, not the override.
  EXPECT_EQ(*(*Death(*e->message, 0)->Find("routing-keys")->AsArray())[0].AsString(), "work");
}

TEST_F(TtlDlxTest, DefaultExchangeAsDlxRoutesByKey) {
  auto target = Declare("target");
  Declare("work", Args({{"x-dead-letter-exchange", S("")},
                        {"x-dead-letter-routing-key", S("target")},
                        {"x-message-ttl", L(10)}}));
  ToQueue("work", "m");
  rt_.Advance(10);
  EXPECT_EQ(target->ready_count(), 1u);
}

TEST_F(TtlDlxTest, MissingDlxDropsMessage) {
  auto work = Declare("work", Args({{"x-dead-letter-exchange", S("nowhere")},
                                    {"x-message-ttl", L(10)}}));
  ToQueue("work", "m");
  rt_.Advance(10);
  EXPECT_EQ(work->ready_count(), 0u);
  EXPECT_EQ(work->counters().dead_lettered, 1u);
}

TEST_F(TtlDlxTest, SecondDeathSameQueueAndReasonIncrementsCount) {
  // Reject from "work" twice: the message goes work -> dlx -> work (rejected
  // deaths never count as a cycle).
  ASSERT_TRUE(DeclareExchange("dlx", "fanout").ok());
  auto work = Declare("work", Args({{"x-dead-letter-exchange", S("dlx")}}));
  Bind("work", "dlx", "");
  RecordingSink& sink = Sink();
  auto c = Consume(work, sink, "c");
  ToQueue("work", "m");
  ASSERT_EQ(sink.deliveries.size(), 1u);
  work->Reject(std::move(sink.deliveries[0].entry));
  ASSERT_EQ(sink.deliveries.size(), 2u);
  work->Reject(std::move(sink.deliveries[1].entry));
  ASSERT_EQ(sink.deliveries.size(), 3u);
  const Message& m = *sink.deliveries[2].entry.message;
  ASSERT_EQ(Deaths(m)->size(), 1u);
  const amqp::FieldTable* d = Death(m, 0);
  EXPECT_EQ(TableInt(*d, "count"), 2);
  EXPECT_EQ(TableStr(*d, "reason"), "rejected");
  EXPECT_EQ(TableStr(*d, "queue"), "work");
  // The first death's exchange was the default exchange; later ones keep it.
  EXPECT_EQ(HeaderStr(m, "x-first-death-exchange"), "");
  EXPECT_EQ(HeaderStr(m, "x-last-death-exchange"), "dlx");
}

TEST_F(TtlDlxTest, DifferentReasonAddsNewestFirstEntry) {
  // work (ttl) -> dlx -> dlq; reject from dlq -> dlx2 -> final.
  ASSERT_TRUE(DeclareExchange("dlx", "fanout").ok());
  ASSERT_TRUE(DeclareExchange("dlx2", "fanout").ok());
  auto dlq = Declare("dlq", Args({{"x-dead-letter-exchange", S("dlx2")}}));
  auto fin = Declare("final");
  Bind("dlq", "dlx", "");
  Bind("final", "dlx2", "");
  Declare("work", Args({{"x-dead-letter-exchange", S("dlx")}, {"x-message-ttl", L(5)}}));
  ToQueue("work", "m");
  rt_.Advance(5);
  auto e = dlq->Get(false);
  ASSERT_TRUE(e);
  dlq->Reject(std::move(*e));
  auto f = fin->Get(true);
  ASSERT_TRUE(f);
  ASSERT_EQ(Deaths(*f->message)->size(), 2u);
  EXPECT_EQ(TableStr(*Death(*f->message, 0), "reason"), "rejected");
  EXPECT_EQ(TableStr(*Death(*f->message, 0), "queue"), "dlq");
  EXPECT_EQ(TableStr(*Death(*f->message, 1), "reason"), "expired");
  EXPECT_EQ(TableStr(*Death(*f->message, 1), "queue"), "work");
  EXPECT_EQ(HeaderStr(*f->message, "x-first-death-reason"), "expired");
  EXPECT_EQ(HeaderStr(*f->message, "x-first-death-queue"), "work");
  EXPECT_EQ(HeaderStr(*f->message, "x-last-death-reason"), "rejected");
  EXPECT_EQ(HeaderStr(*f->message, "x-last-death-queue"), "dlq");
}

TEST_F(TtlDlxTest, ExpiryCycleWithoutRejectionIsDropped) {
  // a (ttl) -> dlx -> b (ttl) -> dlx2 -> a: the second arrival at "a" closes
  // a cycle of expiries and is dropped.
  ASSERT_TRUE(DeclareExchange("to_b", "fanout").ok());
  ASSERT_TRUE(DeclareExchange("to_a", "fanout").ok());
  auto a = Declare("a", Args({{"x-dead-letter-exchange", S("to_b")}, {"x-message-ttl", L(10)}}));
  auto b = Declare("b", Args({{"x-dead-letter-exchange", S("to_a")}, {"x-message-ttl", L(10)}}));
  Bind("b", "to_b", "");
  Bind("a", "to_a", "");
  ToQueue("a", "m");
  rt_.Advance(10);
  EXPECT_EQ(a->ready_count(), 0u);
  EXPECT_EQ(b->ready_count(), 1u);
  rt_.Advance(10);
  EXPECT_EQ(b->ready_count(), 0u);
  EXPECT_EQ(a->ready_count(), 0u);  // dropped, not looping
  rt_.Advance(1000);
  EXPECT_EQ(a->ready_count() + b->ready_count(), 0u);
  EXPECT_EQ(rt_.pending(), 0u);
}

TEST_F(TtlDlxTest, SelfDeadLetterOnExpiryIsDropped) {
  auto q = Declare("self", Args({{"x-dead-letter-exchange", S("")}, {"x-message-ttl", L(10)}}));
  ToQueue("self", "m");
  rt_.Advance(10);
  EXPECT_EQ(q->ready_count(), 0u);
}

TEST_F(TtlDlxTest, CycleWithRejectionIsKept) {
  auto q = Declare("self", Args({{"x-dead-letter-exchange", S("")}}));
  ToQueue("self", "m");
  auto e1 = q->Get(false);
  ASSERT_TRUE(e1);
  q->Reject(std::move(*e1));
  EXPECT_EQ(q->ready_count(), 1u);
}

TEST_F(TtlDlxTest, NoDlxMeansExpiredMessageIsGone) {
  auto q = Declare("q", Args({{"x-message-ttl", L(1)}}));
  auto other = Declare("other");
  ToQueue("q", "m");
  rt_.Advance(1);
  EXPECT_EQ(q->ready_count(), 0u);
  EXPECT_EQ(other->ready_count(), 0u);
}

TEST_F(TtlDlxTest, ExpiredWhileConsumerBlockedThenDeadLettered) {
  SetUpDlx(Args({{"x-message-ttl", L(100)}}));
  RecordingSink& sink = Sink();
  sink.credit = 0;
  auto c = Consume(work_, sink, "c");
  ToQueue("work", "m");
  rt_.Advance(100);
  EXPECT_TRUE(sink.deliveries.empty());
  EXPECT_EQ(dlq_->ready_count(), 1u);
}

// RabbitMQ 3.13: "a message with TTL 0 ... will expire upon reaching a queue
// unless it can be delivered to a consumer immediately".
TEST_F(TtlDlxTest, ZeroTtlDeliveredToWaitingConsumer) {
  auto q = Declare("q", Args({{"x-message-ttl", L(0)}}));
  RecordingSink& sink = Sink();
  auto c = Consume(q, sink, "c");
  ToQueue("q", "m");
  EXPECT_EQ(sink.Bodies(), Strings{"m"});
}

TEST_F(TtlDlxTest, ZeroTtlWithoutConsumerExpiresAtOnce) {
  auto q = Declare("q", Args({{"x-message-ttl", L(0)}}));
  ToQueue("q", "m");
  rt_.Advance(0);
  EXPECT_EQ(q->ready_count(), 0u);
}

}  // namespace
}  // namespace warren::core::model_test

namespace warren::core::model_test {
namespace {

// A deadline that lands on monotonic 0 is a real deadline, not "never".
TEST_F(TtlDlxTest, ZeroTtlAtClockZeroStillExpires) {
  rt_.SetNowMs(0);
  auto q = Declare("q", Args({{"x-message-ttl", L(0)}}));
  ToQueue("q", "m");
  rt_.Advance(10);
  EXPECT_EQ(q->ready_count(), 0u);
}

}  // namespace
}  // namespace warren::core::model_test
