// When queues go away: auto-delete after the last consumer, x-expires,
// exclusive queues and their connection, and queue.delete's conditions.
#include <gtest/gtest.h>

#include "core/core_fixture.h"

namespace warren::core::test {
namespace {

class QueueLifecycleTest : public CoreTest {};

TEST_F(QueueLifecycleTest, AutoDeleteQueueStaysUntilItHasHadAConsumer) {
  auto q = DeclareQueue("q", {}, /*auto_delete=*/true);
  runtime_.Advance(60'000);
  EXPECT_NE(vh_->FindQueue("q"), nullptr);
  EXPECT_FALSE(q->deleted());
}

TEST_F(QueueLifecycleTest, AutoDeleteQueueGoesAfterItsLastConsumerLeaves) {
  auto q = DeclareQueue("q", {}, /*auto_delete=*/true);
  Bind("q", "amq.direct", "k");
  auto a = Consume(q, "a");
  auto b = Consume(q, "b");
  Cancel(a);
  runtime_.Advance(0);
  EXPECT_NE(vh_->FindQueue("q"), nullptr) << "one consumer is left";
  Cancel(b);
  EXPECT_NE(vh_->FindQueue("q"), nullptr) << "the deletion is posted, not done at once";
  runtime_.Advance(0);
  EXPECT_EQ(vh_->FindQueue("q"), nullptr);
  EXPECT_TRUE(q->deleted());
  EXPECT_EQ(Publish("amq.direct", "k", "m").routed, 0u) << "its bindings went with it";
  EXPECT_TRUE(sink_.cancelled.empty()) << "nobody was left to cancel";
}

TEST_F(QueueLifecycleTest, AutoDeleteIsCalledOffWhenAConsumerArrivesFirst) {
  auto q = DeclareQueue("q", {}, /*auto_delete=*/true);
  auto a = Consume(q, "a");
  Cancel(a);
  Consume(q, "b");  // before the deferred deletion runs
  runtime_.Advance(0);
  EXPECT_NE(vh_->FindQueue("q"), nullptr);
}

TEST_F(QueueLifecycleTest, DeferredAutoDeleteAfterTheVhostIsGoneIsHarmless) {
  auto q = DeclareQueue("q", Table({{"x-expires", Long(10)}}), /*auto_delete=*/true);
  auto c = Consume(q, "c");
  Cancel(c);  // posts the deletion
  ASSERT_TRUE(broker_.DeleteVHost("/").ok());
  vh_ = nullptr;
  runtime_.Advance(0);
  runtime_.Advance(100);
  EXPECT_TRUE(q->deleted());
  EXPECT_EQ(runtime_.pending(), 0u) << "the queue's own timers went with it";
}

TEST_F(QueueLifecycleTest, XExpiresDeletesAnUnusedQueueAfterThePeriod) {
  auto q = DeclareQueue("q", Table({{"x-expires", Long(1000)}}));
  runtime_.Advance(999);
  EXPECT_NE(vh_->FindQueue("q"), nullptr);
  runtime_.Advance(1);
  EXPECT_EQ(vh_->FindQueue("q"), nullptr);
  EXPECT_TRUE(q->deleted());
}

TEST_F(QueueLifecycleTest, XExpiresDeletesAQueueWithMessagesToo) {
  DeclareQueue("q", Table({{"x-expires", Long(1000)}}));
  Publish("", "q", "m");
  runtime_.Advance(1000);
  EXPECT_EQ(vh_->FindQueue("q"), nullptr);
}

TEST_F(QueueLifecycleTest, XExpiresWaitsWhileAConsumerIsAttached) {
  auto q = DeclareQueue("q", Table({{"x-expires", Long(1000)}}));
  auto c = Consume(q, "c");
  runtime_.Advance(10'000);
  EXPECT_NE(vh_->FindQueue("q"), nullptr);
  Cancel(c);
  runtime_.Advance(999);
  EXPECT_NE(vh_->FindQueue("q"), nullptr) << "the period restarts when the consumer leaves";
  runtime_.Advance(1);
  EXPECT_EQ(vh_->FindQueue("q"), nullptr);
}

TEST_F(QueueLifecycleTest, RedeclareAndPassiveDeclareRestartXExpires) {
  auto args = Table({{"x-expires", Long(1000)}});
  DeclareQueue("q", args);
  runtime_.Advance(600);
  ASSERT_TRUE(TryDeclare("q", args).ok());
  runtime_.Advance(600);
  EXPECT_NE(vh_->FindQueue("q"), nullptr);
  QueueDeclare passive;
  passive.name = "q";
  passive.passive = true;
  ASSERT_TRUE(vh_->DeclareQueue(passive, kConn).ok());
  runtime_.Advance(600);
  EXPECT_NE(vh_->FindQueue("q"), nullptr);
  runtime_.Advance(400);
  EXPECT_EQ(vh_->FindQueue("q"), nullptr);
}

TEST_F(QueueLifecycleTest, BasicGetRestartsXExpires) {
  auto q = DeclareQueue("q", Table({{"x-expires", Long(1000)}}));
  runtime_.Advance(600);
  EXPECT_FALSE(q->Get(true));
  runtime_.Advance(600);
  EXPECT_NE(vh_->FindQueue("q"), nullptr);
  runtime_.Advance(400);
  EXPECT_EQ(vh_->FindQueue("q"), nullptr);
}

TEST_F(QueueLifecycleTest, DeletingAQueueCancelsItsConsumers) {
  auto q = DeclareQueue("q");
  Consume(q, "a");
  Consume(q, "b");
  auto r = vh_->DeleteQueue("q", false, false, kConn);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(sink_.cancelled, (Names{"a", "b"}));
  EXPECT_TRUE(q->deleted());
  EXPECT_EQ(q->consumer_count(), 0u);
  EXPECT_EQ(vh_->DeleteQueue("q", false, false, kConn).error().code,
            Code(amqp::ReplyCode::kNotFound));
}

TEST_F(QueueLifecycleTest, DeleteQueueReportsReadyCountAndHonoursIfUnusedAndIfEmpty) {
  auto q = DeclareQueue("q");
  Publish("", "q", "a");
  Publish("", "q", "b");
  auto c = Consume(q, "c");
  sink_.SetCredit(*c, 0);
  Publish("", "q", "c");  // a and b went to the consumer before credit ran out

  auto in_use = vh_->DeleteQueue("q", /*if_unused=*/true, false, kConn);
  ASSERT_FALSE(in_use.ok());
  EXPECT_EQ(in_use.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
  EXPECT_EQ(in_use.error().text, "PRECONDITION_FAILED - queue 'q' in vhost '/' in use");

  auto not_empty = vh_->DeleteQueue("q", false, /*if_empty=*/true, kConn);
  ASSERT_FALSE(not_empty.ok());
  EXPECT_EQ(not_empty.error().text, "PRECONDITION_FAILED - queue 'q' in vhost '/' not empty");

  auto deleted = vh_->DeleteQueue("q", false, false, kConn);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted.value(), 1u);
}

TEST_F(QueueLifecycleTest, DeleteMissingQueueIs404) {
  auto r = vh_->DeleteQueue("nope", false, false, kConn);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code(amqp::ReplyCode::kNotFound));
  EXPECT_EQ(r.error().text, "NOT_FOUND - no queue 'nope' in vhost '/'");
}

class ExclusiveQueueTest : public CoreTest {
 protected:
  static constexpr uint64_t kOwner = 7, kOther = 8;
  void SetUp() override {
    ASSERT_TRUE(TryDeclare("mine", {}, false, /*exclusive=*/true, false, kOwner).ok());
  }
  static void ExpectLocked(const Status& s, const char* what) {
    ASSERT_FALSE(s.ok()) << what;
    EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kResourceLocked)) << what;
    EXPECT_NE(s.error().text.find("cannot obtain exclusive access to locked queue 'mine'"),
              std::string::npos)
        << what << ": " << s.error().text;
  }
};

TEST_F(ExclusiveQueueTest, OtherConnectionsGet405ForEveryOperation) {
  ExpectLocked(vh_->GetQueue("mine", kOther).status(), "get");
  ExpectLocked(TryDeclare("mine", {}, false, true, false, kOther).status(), "declare");
  QueueDeclare passive;
  passive.name = "mine";
  passive.passive = true;
  ExpectLocked(vh_->DeclareQueue(passive, kOther).status(), "passive declare");
  ExpectLocked(vh_->BindQueue("mine", "amq.direct", "k", {}, kOther), "bind");
  ExpectLocked(vh_->PurgeQueue("mine", kOther).status(), "purge");
  ExpectLocked(vh_->DeleteQueue("mine", false, false, kOther).status(), "delete");
  EXPECT_NE(vh_->FindQueue("mine"), nullptr);
}

TEST_F(ExclusiveQueueTest, OwnerConnectionUsesItFreely) {
  EXPECT_EQ(vh_->FindQueue("mine")->exclusive_owner(), kOwner);
  EXPECT_TRUE(vh_->GetQueue("mine", kOwner).ok());
  EXPECT_TRUE(TryDeclare("mine", {}, false, true, false, kOwner).ok());
  EXPECT_TRUE(vh_->BindQueue("mine", "amq.direct", "k", {}, kOwner).ok());
}

TEST_F(ExclusiveQueueTest, PublishersOnOtherConnectionsStillReachIt) {
  EXPECT_EQ(Publish("", "mine", "m").routed, 1u);
}

TEST_F(ExclusiveQueueTest, DeleteExclusiveQueuesRemovesOnlyThatConnectionsQueues) {
  ASSERT_TRUE(TryDeclare("theirs", {}, false, true, false, kOther).ok());
  DeclareQueue("shared");
  vh_->DeleteExclusiveQueues(kOwner);
  EXPECT_EQ(vh_->FindQueue("mine"), nullptr);
  EXPECT_NE(vh_->FindQueue("theirs"), nullptr);
  EXPECT_NE(vh_->FindQueue("shared"), nullptr);
}

// RabbitMQ's assert_equivalence checks exclusivity first (check_exclusive_access
// with strict matching): a redeclare whose exclusive flag differs gets 405
// RESOURCE_LOCKED "... or the exclusive property value does not match that
// of the original declaration", not 406.
TEST_F(ExclusiveQueueTest, RedeclareWithDifferentExclusiveFlagIs405) {
  ExpectLocked(TryDeclare("mine", {}, false, /*exclusive=*/false, false, kOwner).status(),
               "owner redeclares non-exclusive");
  DeclareQueue("plain");
  Status s = TryDeclare("plain", {}, false, /*exclusive=*/true, false, kOwner).status();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kResourceLocked)) << s.error().text;
}

}  // namespace
}  // namespace warren::core::test
