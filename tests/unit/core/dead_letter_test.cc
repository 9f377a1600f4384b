// Dead-lettering as RabbitMQ 3.13 does it: the x-death entries and the
// x-first-death-* / x-last-death-* headers, the routing of the copy, a
// missing DLX, and cycle detection.
#include <gtest/gtest.h>

#include "broker/core/dead_letter.h"
#include "core/core_fixture.h"

namespace warren::core::test {
namespace {

using amqp::FieldArray;
using amqp::FieldTable;
using amqp::FieldValue;

class DeadLetterTest : public CoreTest {
 protected:
  std::shared_ptr<Queue> FanoutDlxInto(const std::string& dlx, const std::string& queue) {
    EXPECT_TRUE(DeclareExchange(dlx, "fanout").ok());
    auto q = DeclareQueue(queue);
    Bind(queue, dlx, "");
    return q;
  }
};

TEST_F(DeadLetterTest, ExpiredCopyCarriesEveryXDeathField) {
  auto dead = FanoutDlxInto("dlx", "dead");
  ASSERT_TRUE(DeclareExchange("work", "direct").ok());
  auto src = DeclareQueue("src", Table({{"x-dead-letter-exchange", Str("dlx")}}));
  Bind("src", "work", "k1");
  amqp::BasicProperties p = Expiring("5000");
  p.content_type = "text/plain";
  p.message_id = "id-1";
  p.headers = Table({{"app", Str("kept")}});
  Publish("work", "k1", "body", p);
  runtime_.Advance(5000);

  MessagePtr m = Only(*dead);
  ASSERT_TRUE(m);
  FieldArray deaths = Deaths(*m);
  ASSERT_EQ(deaths.size(), 1u);
  const FieldTable& d = Entry(deaths, 0);
  ASSERT_NE(d.Find("count"), nullptr);
  EXPECT_EQ(d.Find("count")->type, 'l');
  EXPECT_EQ(Count(d), 1);
  EXPECT_EQ(HeaderStr(d, "reason"), "expired");
  EXPECT_EQ(HeaderStr(d, "queue"), "src");
  ASSERT_NE(d.Find("time"), nullptr);
  EXPECT_EQ(d.Find("time")->type, 'T');
  EXPECT_EQ(d.Find("time")->AsInt(), ManualRuntime::kWallBase + 5);
  EXPECT_EQ(HeaderStr(d, "exchange"), "work");
  ASSERT_NE(d.Find("routing-keys"), nullptr);
  EXPECT_EQ(*d.Find("routing-keys"), FieldValue::Array({Str("k1")}));
  EXPECT_EQ(HeaderStr(d, "original-expiration"), "5000");

  const FieldTable h = *m->properties().headers;
  EXPECT_EQ(HeaderStr(h, "x-first-death-reason"), "expired");
  EXPECT_EQ(HeaderStr(h, "x-first-death-queue"), "src");
  EXPECT_EQ(HeaderStr(h, "x-first-death-exchange"), "work");
  EXPECT_EQ(HeaderStr(h, "x-last-death-reason"), "expired");
  EXPECT_EQ(HeaderStr(h, "x-last-death-queue"), "src");
  EXPECT_EQ(HeaderStr(h, "x-last-death-exchange"), "work");
  EXPECT_EQ(HeaderStr(h, "app"), "kept");

  // The copy does not expire again: expiration moved into the entry.
  EXPECT_FALSE(m->properties().expiration.has_value());
  EXPECT_FALSE(m->ttl_ms.has_value());
  EXPECT_EQ(m->properties().content_type, "text/plain");
  EXPECT_EQ(m->properties().message_id, "id-1");
  EXPECT_EQ(m->body, "body");
  EXPECT_EQ(m->exchange, "dlx");
  EXPECT_EQ(m->routing_key, "k1") << "no x-dead-letter-routing-key: the original key";
}

TEST_F(DeadLetterTest, RawPropertiesOfTheCopyMatchItsDecodedProperties) {
  auto dead = FanoutDlxInto("dlx", "dead");
  auto src = DeclareQueue("src", Table({{"x-dead-letter-exchange", Str("dlx")}}));
  Publish("", "src", "m", Expiring("10"));
  runtime_.Advance(10);
  MessagePtr m = Only(*dead);
  ASSERT_TRUE(m);
  amqp::BasicProperties decoded;
  ASSERT_TRUE(amqp::DecodeProperties(m->raw_properties, decoded));
  EXPECT_EQ(decoded, m->properties()) << "consumers get raw_properties as they are";
}

TEST_F(DeadLetterTest, QueueTtlDeathHasNoOriginalExpiration) {
  auto dead = FanoutDlxInto("dlx", "dead");
  DeclareQueue("src", Table({{"x-message-ttl", Long(10)}, {"x-dead-letter-exchange", Str("dlx")}}));
  Publish("", "src", "m");
  runtime_.Advance(10);
  MessagePtr m = Only(*dead);
  ASSERT_TRUE(m);
  EXPECT_EQ(HeaderStr(Entry(Deaths(*m), 0), "reason"), "expired");
  EXPECT_EQ(Entry(Deaths(*m), 0).Find("original-expiration"), nullptr);
  EXPECT_EQ(HeaderStr(Entry(Deaths(*m), 0), "exchange"), "") << "published to the default exchange";
}

TEST_F(DeadLetterTest, DeadLetterRoutingKeyReplacesTheKeyButNotTheRecordedOne) {
  ASSERT_TRUE(DeclareExchange("dlx", "direct").ok());
  auto parked = DeclareQueue("parked");
  auto other = DeclareQueue("other");
  Bind("parked", "dlx", "parking");
  Bind("other", "dlx", "orig");
  DeclareQueue("src", Table({{"x-message-ttl", Long(10)},
                             {"x-dead-letter-exchange", Str("dlx")},
                             {"x-dead-letter-routing-key", Str("parking")}}));
  ASSERT_TRUE(DeclareExchange("in", "fanout").ok());
  Bind("src", "in", "");
  Publish("in", "orig", "m");
  runtime_.Advance(10);
  EXPECT_EQ(other->ready_count(), 0u);
  MessagePtr m = Only(*parked);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->routing_key, "parking");
  EXPECT_EQ(*Entry(Deaths(*m), 0).Find("routing-keys"), FieldValue::Array({Str("orig")}));
}

TEST_F(DeadLetterTest, RejectedMessageIsDeadLetteredWithReasonRejected) {
  auto dead = FanoutDlxInto("dlx", "dead");
  auto src = DeclareQueue("src", Table({{"x-dead-letter-exchange", Str("dlx")}}));
  Publish("", "src", "m");
  auto e = src->Get(false);
  ASSERT_TRUE(e);
  src->Reject(*e);
  MessagePtr m = Only(*dead);
  ASSERT_TRUE(m && m->properties().headers);
  EXPECT_EQ(HeaderStr(Entry(Deaths(*m), 0), "reason"), "rejected");
  EXPECT_EQ(HeaderStr(*m->properties().headers, "x-first-death-reason"), "rejected");
  EXPECT_EQ(src->counters().dead_lettered, 1u);
}

// A message rejected twice from the same queue (the DLX routes it back) has
// one x-death entry with count 2; x-first-death-exchange stays that of the
// first death, x-last-death-exchange is that of the latest.
TEST_F(DeadLetterTest, RepeatedDeathUpdatesOnlyTheLastDeathHeaders) {
  ASSERT_TRUE(DeclareExchange("dlx", "fanout").ok());
  auto work = DeclareQueue("work", Table({{"x-dead-letter-exchange", Str("dlx")}}));
  Bind("work", "dlx", "");
  Consume(work, "c", /*no_ack=*/false);
  Publish("", "work", "m");
  for (size_t round = 1; round <= 2; ++round) {
    ASSERT_EQ(sink_.deliveries.size(), round);
    QueueEntry e = sink_.deliveries.back().entry;
    work->Reject(std::move(e));
  }
  ASSERT_EQ(sink_.deliveries.size(), 3u);
  const Message& m = *sink_.deliveries.back().entry.message;
  FieldArray deaths = Deaths(m);
  ASSERT_EQ(deaths.size(), 1u);
  EXPECT_EQ(Count(Entry(deaths, 0)), 2);
  EXPECT_EQ(HeaderStr(Entry(deaths, 0), "reason"), "rejected");
  EXPECT_EQ(HeaderStr(Entry(deaths, 0), "queue"), "work");
  const FieldTable h = *m.properties().headers;
  EXPECT_EQ(HeaderStr(h, "x-first-death-exchange"), "");
  EXPECT_EQ(HeaderStr(h, "x-last-death-exchange"), "dlx");
}

TEST_F(DeadLetterTest, DlxThatDoesNotExistDropsTheMessage) {
  auto src = DeclareQueue("src", Table({{"x-message-ttl", Long(10)},
                                        {"x-dead-letter-exchange", Str("nowhere")}}));
  auto bystander = DeclareQueue("nowhere");  // a queue, not an exchange, of that name
  Publish("", "src", "m");
  runtime_.Advance(10);
  EXPECT_EQ(src->ready_count(), 0u);
  EXPECT_EQ(bystander->ready_count(), 0u);
  EXPECT_EQ(src->counters().dead_lettered, 1u);
}

TEST_F(DeadLetterTest, DlxIsLookedUpWhenTheMessageDies) {
  auto src = DeclareQueue("src", Table({{"x-message-ttl", Long(10)},
                                        {"x-dead-letter-exchange", Str("late")}}));
  Publish("", "src", "early");
  runtime_.Advance(10);
  auto dead = FanoutDlxInto("late", "dead");
  Publish("", "src", "later");
  runtime_.Advance(10);
  EXPECT_EQ(Drain(*dead), (Names{"later"}));
}

// Retry pattern: work --reject--> retry (TTL) --expire--> work --reject--> ...
// A second death for the same (queue, reason) bumps that entry's count and
// moves it to the front; no new entry is added.
class RetryLoopTest : public DeadLetterTest {
 protected:
  void SetUp() override {
    work_ = DeclareQueue("work", Table({{"x-dead-letter-exchange", Str("")},
                                        {"x-dead-letter-routing-key", Str("retry")}}));
    retry_ = DeclareQueue("retry", Table({{"x-message-ttl", Long(10)},
                                          {"x-dead-letter-exchange", Str("")},
                                          {"x-dead-letter-routing-key", Str("work")}}));
  }
  void RejectFromWork() {
    auto e = work_->Get(false);
    ASSERT_TRUE(e);
    work_->Reject(*e);
  }
  std::shared_ptr<Queue> work_, retry_;
};

TEST_F(RetryLoopTest, CycleThroughARejectionIsAllowed) {
  Publish("", "work", "job");
  RejectFromWork();
  ASSERT_EQ(retry_->ready_count(), 1u);
  runtime_.Advance(10);
  ASSERT_EQ(work_->ready_count(), 1u) << "back in work: the cycle contains a rejection";
  auto e = work_->Get(true);
  ASSERT_TRUE(e);
  FieldArray deaths = Deaths(*e->message);
  ASSERT_EQ(deaths.size(), 2u);
  EXPECT_EQ(HeaderStr(Entry(deaths, 0), "queue"), "retry");
  EXPECT_EQ(HeaderStr(Entry(deaths, 0), "reason"), "expired");
  EXPECT_EQ(HeaderStr(Entry(deaths, 1), "queue"), "work");
  EXPECT_EQ(HeaderStr(Entry(deaths, 1), "reason"), "rejected");
}

TEST_F(RetryLoopTest, SecondDeathIncrementsCountAndMovesEntryToFront) {
  Publish("", "work", "job");
  RejectFromWork();
  runtime_.Advance(10);
  RejectFromWork();
  MessagePtr m = Only(*retry_);
  ASSERT_TRUE(m);
  FieldArray deaths = Deaths(*m);
  ASSERT_EQ(deaths.size(), 2u);
  EXPECT_EQ(HeaderStr(Entry(deaths, 0), "queue"), "work");
  EXPECT_EQ(HeaderStr(Entry(deaths, 0), "reason"), "rejected");
  EXPECT_EQ(Count(Entry(deaths, 0)), 2);
  EXPECT_EQ(HeaderStr(Entry(deaths, 1), "queue"), "retry");
  EXPECT_EQ(Count(Entry(deaths, 1)), 1);
  const FieldTable h = *m->properties().headers;
  EXPECT_EQ(HeaderStr(h, "x-first-death-queue"), "work");
  EXPECT_EQ(HeaderStr(h, "x-first-death-reason"), "rejected");
  EXPECT_EQ(HeaderStr(h, "x-last-death-queue"), "work");
  EXPECT_EQ(HeaderStr(h, "x-last-death-reason"), "rejected");
}

TEST_F(RetryLoopTest, ThirdRoundCountsTwoForBothEntries) {
  Publish("", "work", "job");
  RejectFromWork();
  runtime_.Advance(10);
  RejectFromWork();
  runtime_.Advance(10);
  auto e = work_->Get(true);
  ASSERT_TRUE(e);
  FieldArray deaths = Deaths(*e->message);
  ASSERT_EQ(deaths.size(), 2u);
  EXPECT_EQ(HeaderStr(Entry(deaths, 0), "queue"), "retry");
  EXPECT_EQ(Count(Entry(deaths, 0)), 2);
  EXPECT_EQ(HeaderStr(Entry(deaths, 1), "queue"), "work");
  EXPECT_EQ(Count(Entry(deaths, 1)), 2);
  EXPECT_EQ(HeaderStr(*e->message->properties().headers, "x-first-death-queue"), "work");
  EXPECT_EQ(HeaderStr(*e->message->properties().headers, "x-last-death-queue"), "retry");
}

// RabbitMQ keeps the time of the first death in an entry whose count goes up
// (3.12: increment_xdeath_event_count touches only count; 3.13's mc keeps
// first_time and last_time and writes first_time as "time").
TEST_F(RetryLoopTest, RepeatedDeathKeepsTheTimeOfTheFirstDeath) {
  Publish("", "work", "job");
  RejectFromWork();  // t = 0 s
  runtime_.Advance(10);
  runtime_.Advance(7000);
  RejectFromWork();  // t = 7 s
  MessagePtr m = Only(*retry_);
  ASSERT_TRUE(m);
  FieldArray deaths = Deaths(*m);
  const FieldTable& d = Entry(deaths, 0);
  ASSERT_EQ(Count(d), 2);
  ASSERT_NE(d.Find("time"), nullptr);
  EXPECT_EQ(d.Find("time")->AsInt(), ManualRuntime::kWallBase);
}

TEST_F(DeadLetterTest, CycleWithoutRejectionIsDropped) {
  // Expired messages go to the default exchange under their own key: the
  // queue itself. RabbitMQ drops rather than loops.
  auto q = DeclareQueue("loop", Table({{"x-message-ttl", Long(10)},
                                       {"x-dead-letter-exchange", Str("")}}));
  Publish("", "loop", "m");
  runtime_.Advance(10);
  EXPECT_EQ(q->ready_count(), 0u);
  runtime_.Advance(1000);
  EXPECT_EQ(q->ready_count(), 0u);
  EXPECT_EQ(q->counters().published, 1u);
  EXPECT_EQ(q->counters().dead_lettered, 1u);
}

TEST_F(DeadLetterTest, RejectionBackIntoTheSameQueueIsAllowed) {
  auto q = DeclareQueue("self", Table({{"x-dead-letter-exchange", Str("")}}));
  Publish("", "self", "m");
  auto e = q->Get(false);
  ASSERT_TRUE(e);
  q->Reject(*e);
  MessagePtr m = Only(*q);
  ASSERT_TRUE(m);
  EXPECT_EQ(HeaderStr(Entry(Deaths(*m), 0), "reason"), "rejected");
}

// RabbitMQ's cycle check (rabbit_dead_letter:is_cycle, mc:is_death_cycle)
// walks x-death from the newest entry back to the target queue's entry and
// calls it a cycle unless a rejection lies on that stretch. A rejection
// further back (before the loop began) does not make the loop legal.
TEST_F(DeadLetterTest, AutomaticLoopAfterAnEarlierRejectionIsDropped) {
  auto work = DeclareQueue("work", Table({{"x-dead-letter-exchange", Str("")},
                                          {"x-dead-letter-routing-key", Str("a")}}));
  auto a = DeclareQueue("a", Table({{"x-message-ttl", Long(10)},
                                    {"x-dead-letter-exchange", Str("")},
                                    {"x-dead-letter-routing-key", Str("b")}}));
  auto b = DeclareQueue("b", Table({{"x-message-ttl", Long(10)},
                                    {"x-dead-letter-exchange", Str("")},
                                    {"x-dead-letter-routing-key", Str("a")}}));
  Publish("", "work", "m");
  auto e = work->Get(false);
  ASSERT_TRUE(e);
  work->Reject(*e);  // x-death: (work, rejected)
  ASSERT_EQ(a->ready_count(), 1u);
  runtime_.Advance(10);  // a expires into b: (a, expired), (work, rejected)
  ASSERT_EQ(b->ready_count(), 1u);
  runtime_.Advance(10);  // b expires towards a: a -> b -> a has no rejection
  EXPECT_EQ(a->ready_count(), 0u);
  EXPECT_EQ(b->ready_count(), 0u);
  runtime_.Advance(100);
  EXPECT_EQ(a->ready_count() + b->ready_count(), 0u) << "the message must not ping-pong";
  EXPECT_EQ(runtime_.pending(), 0u) << "no expiry timer is left behind";
}

TEST(MakeDeadLetterTest, IsDeadLetterCycleLooksAtTheQueuesInXDeath) {
  auto original = MakeMessage("", "q", {}, "m");
  EXPECT_FALSE(IsDeadLetterCycle(*original, "q")) << "no x-death: no cycle";
  auto once = MakeDeadLetter(*original, "q", "expired", 0, "", std::nullopt);
  EXPECT_TRUE(IsDeadLetterCycle(*once, "q"));
  EXPECT_FALSE(IsDeadLetterCycle(*once, "other"));
  auto rejected = MakeDeadLetter(*original, "q", "rejected", 0, "", std::nullopt);
  EXPECT_FALSE(IsDeadLetterCycle(*rejected, "q"));
}

TEST(MakeDeadLetterTest, DifferentReasonForTheSameQueueIsANewEntry) {
  auto m0 = MakeMessage("ex", "k", {}, "m");
  auto m1 = MakeDeadLetter(*m0, "q", "rejected", 1, "dlx", std::nullopt);
  auto m2 = MakeDeadLetter(*m1, "q", "expired", 2, "dlx", std::nullopt);
  FieldArray deaths = Deaths(*m2);
  ASSERT_EQ(deaths.size(), 2u);
  EXPECT_EQ(HeaderStr(Entry(deaths, 0), "reason"), "expired");
  EXPECT_EQ(HeaderStr(Entry(deaths, 0), "exchange"), "dlx") << "the exchange it died from";
  EXPECT_EQ(HeaderStr(Entry(deaths, 1), "reason"), "rejected");
  EXPECT_EQ(HeaderStr(Entry(deaths, 1), "exchange"), "ex");
  EXPECT_EQ(HeaderStr(*m2->properties().headers, "x-first-death-reason"), "rejected");
  EXPECT_EQ(HeaderStr(*m2->properties().headers, "x-first-death-exchange"), "ex");
  EXPECT_EQ(HeaderStr(*m2->properties().headers, "x-last-death-reason"), "expired");
  EXPECT_EQ(HeaderStr(*m2->properties().headers, "x-last-death-exchange"), "dlx");
}

}  // namespace
}  // namespace warren::core::test
