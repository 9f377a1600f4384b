// x-max-length / x-max-length-bytes and the three x-overflow behaviours.
#include "core/model_fixture.h"

namespace warren::core::model_test {
namespace {

class OverflowTest : public ModelTest {
 protected:
  void SetUpDlx() {
    ASSERT_TRUE(DeclareExchange("dlx", "fanout").ok());
    dlq_ = Declare("dlq");
    Bind("dlq", "dlx", "");
  }
  std::shared_ptr<Queue> dlq_;
};

TEST_F(OverflowTest, DropHeadDropsOldestAndDeadLettersMaxlen) {
  SetUpDlx();
  auto q = Declare("q", Args({{"x-max-length", L(2)}, {"x-dead-letter-exchange", S("dlx")}}));
  for (const char* b : {"1", "2", "3", "4"}) {
    PublishOutcome o = ToQueue("q", b);
    EXPECT_EQ(o.routed, 1u);
    EXPECT_FALSE(o.rejected);
  }
  EXPECT_EQ(q->ready_count(), 2u);
  ASSERT_EQ(dlq_->ready_count(), 2u);
  auto first = dlq_->Get(true);
  EXPECT_EQ(first->message->body, "1");
  EXPECT_EQ(TableStr(*Death(*first->message, 0), "reason"), "maxlen");
  EXPECT_EQ(HeaderStr(*first->message, "x-first-death-reason"), "maxlen");
  EXPECT_EQ(dlq_->Get(true)->message->body, "2");
  EXPECT_EQ(Drain(*q), (Strings{"3", "4"}));
}

TEST_F(OverflowTest, MaxLengthZeroKeepsNothing) {
  auto q = Declare("q", Args({{"x-max-length", L(0)}}));
  EXPECT_EQ(ToQueue("q", "a").routed, 1u);
  EXPECT_EQ(q->ready_count(), 0u);
}

TEST_F(OverflowTest, RejectPublishRefusesAndKeepsExisting) {
  SetUpDlx();
  auto q = Declare("q", Args({{"x-max-length", L(2)},
                              {"x-overflow", S("reject-publish")},
                              {"x-dead-letter-exchange", S("dlx")}}));
  EXPECT_FALSE(ToQueue("q", "1").rejected);
  EXPECT_FALSE(ToQueue("q", "2").rejected);
  PublishOutcome o = ToQueue("q", "3");
  EXPECT_TRUE(o.rejected);
  EXPECT_EQ(o.routed, 0u);
  EXPECT_EQ(dlq_->ready_count(), 0u);  // reject-publish does not dead-letter
  EXPECT_EQ(Drain(*q), (Strings{"1", "2"}));
  EXPECT_FALSE(ToQueue("q", "4").rejected);  // room again
}

TEST_F(OverflowTest, RejectPublishOnlyFlagsTheFullQueue) {
  ASSERT_TRUE(DeclareExchange("fan", "fanout").ok());
  auto full = Declare("full", Args({{"x-max-length", L(0)}, {"x-overflow", S("reject-publish")}}));
  auto open = Declare("open");
  Bind("full", "fan", "");
  Bind("open", "fan", "");
  PublishOutcome o = ToExchange("fan", "", "m");
  EXPECT_TRUE(o.rejected);
  EXPECT_EQ(o.routed, 1u);
  EXPECT_EQ(open->ready_count(), 1u);
  EXPECT_EQ(full->ready_count(), 0u);
}

TEST_F(OverflowTest, RejectPublishDlxRejectsAndDeadLetters) {
  SetUpDlx();
  auto q = Declare("q", Args({{"x-max-length", L(1)},
                              {"x-overflow", S("reject-publish-dlx")},
                              {"x-dead-letter-exchange", S("dlx")}}));
  EXPECT_FALSE(ToQueue("q", "1").rejected);
  PublishOutcome o = ToQueue("q", "2");
  EXPECT_TRUE(o.rejected);
  EXPECT_EQ(Drain(*q), Strings{"1"});
  ASSERT_EQ(dlq_->ready_count(), 1u);
  auto e = dlq_->Get(true);
  EXPECT_EQ(e->message->body, "2");
  EXPECT_EQ(TableStr(*Death(*e->message, 0), "reason"), "maxlen");
  EXPECT_EQ(TableStr(*Death(*e->message, 0), "queue"), "q");
}

TEST_F(OverflowTest, MaxLengthBytesDropHeadCountsBodyBytes) {
  auto q = Declare("q", Args({{"x-max-length-bytes", L(10)}}));
  ToQueue("q", "aaaa");    // 4
  ToQueue("q", "bbbb");    // 8
  EXPECT_EQ(q->ready_bytes(), 8u);
  ToQueue("q", "cccc");    // 12 > 10: drop "aaaa"
  EXPECT_EQ(q->ready_count(), 2u);
  EXPECT_EQ(q->ready_bytes(), 8u);
  ToQueue("q", "dddddddddd");  // 18: drops b and c
  EXPECT_EQ(Drain(*q), Strings{"dddddddddd"});
}

TEST_F(OverflowTest, MaxLengthBytesRejectPublish) {
  auto q = Declare("q", Args({{"x-max-length-bytes", L(5)}, {"x-overflow", S("reject-publish")}}));
  EXPECT_FALSE(ToQueue("q", "abc").rejected);
  EXPECT_TRUE(ToQueue("q", "abc").rejected);  // 6 > 5
  EXPECT_FALSE(ToQueue("q", "ab").rejected);  // exactly 5
  EXPECT_EQ(q->ready_bytes(), 5u);
}

TEST_F(OverflowTest, UnackedMessagesDoNotCountTowardsLimit) {
  auto q = Declare("q", Args({{"x-max-length", L(1)}, {"x-overflow", S("reject-publish")}}));
  ToQueue("q", "1");
  auto e = q->Get(false);
  ASSERT_TRUE(e);
  EXPECT_FALSE(ToQueue("q", "2").rejected);
  EXPECT_EQ(q->unacked_count(), 1u);
}

}  // namespace
}  // namespace warren::core::model_test
