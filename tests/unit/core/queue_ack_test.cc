// Settling deliveries: ack, reject without requeue, requeue order and the
// redelivered flag, and the queue's unacked count.
#include <gtest/gtest.h>

#include "core/core_fixture.h"

namespace warren::core::test {
namespace {

class QueueAckTest : public CoreTest {};

TEST_F(QueueAckTest, RejectWithoutDlxDiscards) {
  auto q = DeclareQueue("q");
  Publish("", "q", "m");
  auto e = q->Get(false);
  ASSERT_TRUE(e);
  q->Reject(*e);
  EXPECT_EQ(q->ready_count(), 0u);
  EXPECT_EQ(q->unacked_count(), 0u);
  EXPECT_EQ(q->counters().dead_lettered, 1u);
}

TEST_F(QueueAckTest, RequeueKeepsOriginalOrderAndSetsRedelivered) {
  auto q = DeclareQueue("q");
  for (const char* b : {"1", "2", "3", "4"}) Publish("", "q", b);
  auto e1 = q->Get(false);
  auto e2 = q->Get(false);
  ASSERT_TRUE(e1 && e2);
  EXPECT_FALSE(e1->redelivered);
  q->Requeue({*e2, *e1});  // handed back out of order
  std::vector<std::pair<std::string, bool>> got;
  while (auto e = q->Get(true)) got.emplace_back(e->message->body, e->redelivered);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, bool>>{
                     {"1", true}, {"2", true}, {"3", false}, {"4", false}}));
  EXPECT_EQ(q->counters().redelivered, 2u);
}

TEST_F(QueueAckTest, RequeueGoesBeforeMessagesPublishedLater) {
  auto q = DeclareQueue("q");
  Publish("", "q", "old");
  auto e = q->Get(false);
  ASSERT_TRUE(e);
  Publish("", "q", "new");
  q->Requeue({*e});
  EXPECT_EQ(Drain(*q), (Names{"old", "new"}));
}

TEST_F(QueueAckTest, UnackedCountFollowsGetAckRequeueAndReject) {
  auto q = DeclareQueue("q");
  for (const char* b : {"a", "b", "c", "d"}) Publish("", "q", b);
  auto a = q->Get(false);
  auto b = q->Get(false);
  auto c = q->Get(false);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(q->unacked_count(), 3u);
  EXPECT_EQ(q->ready_count(), 1u);
  q->Ack(*a);
  EXPECT_EQ(q->unacked_count(), 2u);
  q->Requeue({*b});
  EXPECT_EQ(q->unacked_count(), 1u);
  EXPECT_EQ(q->ready_count(), 2u);
  q->Reject(*c);
  EXPECT_EQ(q->unacked_count(), 0u);
  ASSERT_TRUE(q->Get(true));
  EXPECT_EQ(q->unacked_count(), 0u) << "no-ack gets are never unacked";
  EXPECT_EQ(q->counters().acked, 1u);
}

TEST_F(QueueAckTest, ConsumerDeliveriesCountAsUnackedUnlessNoAck) {
  auto manual = DeclareQueue("manual");
  auto automatic = DeclareQueue("auto");
  Consume(manual, "m", /*no_ack=*/false);
  Consume(automatic, "a", /*no_ack=*/true);
  for (int i = 0; i < 2; ++i) {
    Publish("", "manual", "x");
    Publish("", "auto", "x");
  }
  EXPECT_EQ(manual->unacked_count(), 2u);
  EXPECT_EQ(automatic->unacked_count(), 0u);
  EXPECT_EQ(manual->counters().delivered, 2u);
}

TEST_F(QueueAckTest, RequeuedDeliveryGoesAgainToAConsumerMarkedRedelivered) {
  auto q = DeclareQueue("q");
  auto c = Consume(q, "c", /*no_ack=*/false);
  Publish("", "q", "m");
  ASSERT_EQ(sink_.deliveries.size(), 1u);
  EXPECT_FALSE(sink_.deliveries[0].entry.redelivered);
  q->Requeue({sink_.deliveries[0].entry});
  ASSERT_EQ(sink_.deliveries.size(), 2u);
  EXPECT_EQ(sink_.deliveries[1].entry.message->body, "m");
  EXPECT_TRUE(sink_.deliveries[1].entry.redelivered);
  EXPECT_EQ(q->unacked_count(), 1u);
  EXPECT_EQ(q->counters().redelivered, 1u);
}

TEST_F(QueueAckTest, PurgeDropsReadyMessagesButNotUnacked) {
  auto q = DeclareQueue("q");
  for (const char* b : {"a", "b", "c"}) Publish("", "q", b);
  auto a = q->Get(false);
  ASSERT_TRUE(a);
  auto purged = vh_->PurgeQueue("q", kConn);
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(purged.value(), 2u);
  EXPECT_EQ(q->ready_count(), 0u);
  EXPECT_EQ(q->ready_bytes(), 0u);
  EXPECT_EQ(q->unacked_count(), 1u);
  q->Requeue({*a});
  EXPECT_EQ(Drain(*q), (Names{"a"}));
}

TEST_F(QueueAckTest, SettlingAfterTheQueueIsDeletedIsHarmless) {
  auto q = DeclareQueue("q", Table({{"x-dead-letter-exchange", Str("")}}));
  Publish("", "q", "a");
  Publish("", "q", "b");
  auto a = q->Get(false);
  auto b = q->Get(false);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(vh_->DeleteQueue("q", false, false, kConn).ok());
  EXPECT_TRUE(q->deleted());
  q->Requeue({*a});
  q->Reject(*b);
  EXPECT_EQ(q->ready_count(), 0u);
  EXPECT_EQ(vh_->FindQueue("q"), nullptr);
}

}  // namespace
}  // namespace warren::core::test
