// Exchanges through VHost: built-ins, declare/delete rules, alternate
// exchanges, exchange-to-exchange bindings and duplicate routes.
#include "core/model_fixture.h"

namespace warren::core::model_test {
namespace {

class ExchangeModelTest : public ModelTest {};

TEST_F(ExchangeModelTest, BuiltinsExist) {
  const std::pair<const char*, const char*> builtins[] = {
      {"amq.direct", "direct"},   {"amq.fanout", "fanout"}, {"amq.topic", "topic"},
      {"amq.headers", "headers"}, {"amq.match", "headers"}, {"amq.rabbitmq.trace", "topic"}};
  for (auto [name, type] : builtins) {
    Exchange* e = vh_->FindExchange(name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(e->type(), type) << name;
    EXPECT_TRUE(e->durable()) << name;
  }
  EXPECT_TRUE(vh_->FindExchange("amq.rabbitmq.trace")->internal());
  EXPECT_FALSE(vh_->FindExchange("amq.direct")->internal());
}

TEST_F(ExchangeModelTest, RedeclareBuiltinWithSameTypeIsOk) {
  ExchangeDeclare d;
  d.name = "amq.direct";
  d.type = "direct";
  d.options.durable = true;
  EXPECT_TRUE(vh_->DeclareExchange(d).ok());
}

TEST_F(ExchangeModelTest, UnknownTypeIs503) {
  Status s = DeclareExchange("x", "x-consistent-hash");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, 503);
  EXPECT_EQ(vh_->FindExchange("x"), nullptr);
}

TEST_F(ExchangeModelTest, ReservedNameIs403) {
  Status s = DeclareExchange("amq.x", "direct");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, 403);
  EXPECT_EQ(s.error().text,
            "ACCESS_REFUSED - exchange name 'amq.x' contains reserved prefix 'amq.*'");
}

// RabbitMQ checks the type (rabbit_exchange:check_type) before the default
// exchange and the reserved prefix, so an unknown type is 503 whatever the
// name. Warren checks the name first and answers 403. Disabled; see report.
TEST_F(ExchangeModelTest, UnknownTypeIs503EvenForReservedName) {
  EXPECT_EQ(DeclareExchange("amq.x", "no-such-type").error().code, 503);
  EXPECT_EQ(DeclareExchange("", "no-such-type").error().code, 503);
}

TEST_F(ExchangeModelTest, DefaultExchangeCannotBeDeclaredOrDeleted) {
  EXPECT_EQ(DeclareExchange("", "direct").error().code, 403);
  EXPECT_EQ(vh_->DeleteExchange("", false).error().code, 403);
}

TEST_F(ExchangeModelTest, PassiveMissingIs404) {
  ExchangeDeclare d;
  d.name = "nope";
  d.passive = true;
  Status s = vh_->DeclareExchange(d);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, 404);
  EXPECT_EQ(s.error().text, "NOT_FOUND - no exchange 'nope' in vhost '/'");
}

TEST_F(ExchangeModelTest, RedeclareWithDifferentTypeIs406) {
  ASSERT_TRUE(DeclareExchange("x", "direct").ok());
  Status s = DeclareExchange("x", "fanout");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, 406);
  EXPECT_EQ(s.error().text,
            "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'x' in vhost '/': "
            "received 'fanout' but current is 'direct'");
}

TEST_F(ExchangeModelTest, DeleteBuiltinIs403) {
  Status s = vh_->DeleteExchange("amq.direct", false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, 403);
  EXPECT_NE(vh_->FindExchange("amq.direct"), nullptr);
}

TEST_F(ExchangeModelTest, DeleteIfUnused) {
  ASSERT_TRUE(DeclareExchange("x", "direct").ok());
  Declare("q");
  Bind("q", "x", "k");
  Status s = vh_->DeleteExchange("x", /*if_unused=*/true);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, 406);
  EXPECT_TRUE(vh_->DeleteExchange("x", false).ok());
  EXPECT_EQ(vh_->FindExchange("x"), nullptr);
  EXPECT_EQ(vh_->DeleteExchange("x", false).error().code, 404);
}

TEST_F(ExchangeModelTest, BindToMissingIs404) {
  Declare("q");
  EXPECT_EQ(vh_->BindQueue("q", "nope", "k", {}, kConn).error().code, 404);
  EXPECT_EQ(vh_->BindQueue("nope", "amq.direct", "k", {}, kConn).error().code, 404);
  EXPECT_EQ(vh_->BindQueue("q", "", "k", {}, kConn).error().code, 403);
}

TEST_F(ExchangeModelTest, AlternateExchangeGetsUnroutable) {
  ASSERT_TRUE(DeclareExchange("ae", "fanout").ok());
  ASSERT_TRUE(DeclareExchange("main", "direct", Args({{"alternate-exchange", S("ae")}})).ok());
  auto routed = Declare("routed");
  auto unrouted = Declare("unrouted");
  Bind("routed", "main", "known");
  Bind("unrouted", "ae", "");
  EXPECT_EQ(ToExchange("main", "known", "a").routed, 1u);
  EXPECT_EQ(ToExchange("main", "other", "b").routed, 1u);
  EXPECT_EQ(Drain(*routed), Strings{"a"});
  EXPECT_EQ(Drain(*unrouted), Strings{"b"});
}

TEST_F(ExchangeModelTest, MissingAlternateExchangeMeansUnroutable) {
  ASSERT_TRUE(DeclareExchange("main", "direct", Args({{"alternate-exchange", S("gone")}})).ok());
  EXPECT_EQ(ToExchange("main", "k", "m").routed, 0u);
}

TEST_F(ExchangeModelTest, AlternateExchangeCycleTerminates) {
  ASSERT_TRUE(DeclareExchange("a", "direct", Args({{"alternate-exchange", S("b")}})).ok());
  ASSERT_TRUE(DeclareExchange("b", "direct", Args({{"alternate-exchange", S("a")}})).ok());
  EXPECT_EQ(ToExchange("a", "k", "m").routed, 0u);
}

TEST_F(ExchangeModelTest, ExchangeToExchangeCycleDeliversOnce) {
  ASSERT_TRUE(DeclareExchange("x1", "fanout").ok());
  ASSERT_TRUE(DeclareExchange("x2", "fanout").ok());
  ASSERT_TRUE(vh_->BindExchange("x2", "x1", "", {}).ok());
  ASSERT_TRUE(vh_->BindExchange("x1", "x2", "", {}).ok());
  auto q1 = Declare("q1");
  auto q2 = Declare("q2");
  Bind("q1", "x1", "");
  Bind("q2", "x2", "");
  PublishOutcome o = ToExchange("x1", "", "m");
  EXPECT_EQ(o.routed, 2u);
  EXPECT_EQ(q1->ready_count(), 1u);
  EXPECT_EQ(q2->ready_count(), 1u);
}

TEST_F(ExchangeModelTest, QueueReachedTwiceGetsOneCopy) {
  ASSERT_TRUE(DeclareExchange("t", "topic").ok());
  auto q = Declare("q");
  Bind("q", "t", "a.*");
  Bind("q", "t", "*.b");
  Bind("q", "t", "#");
  EXPECT_EQ(ToExchange("t", "a.b", "m").routed, 1u);
  EXPECT_EQ(q->ready_count(), 1u);
}

TEST_F(ExchangeModelTest, QueueReachedViaTwoExchangesGetsOneCopy) {
  ASSERT_TRUE(DeclareExchange("src", "fanout").ok());
  ASSERT_TRUE(DeclareExchange("mid", "fanout").ok());
  ASSERT_TRUE(vh_->BindExchange("mid", "src", "", {}).ok());
  auto q = Declare("q");
  Bind("q", "src", "");
  Bind("q", "mid", "");
  EXPECT_EQ(ToExchange("src", "", "m").routed, 1u);
  EXPECT_EQ(q->ready_count(), 1u);
}

TEST_F(ExchangeModelTest, BindingSameKeyTwiceIsOneBinding) {
  Declare("q");
  Bind("q", "amq.direct", "k");
  Bind("q", "amq.direct", "k");
  EXPECT_EQ(ToExchange("amq.direct", "k", "m").routed, 1u);
  ASSERT_TRUE(vh_->UnbindQueue("q", "amq.direct", "k", {}, kConn).ok());
  EXPECT_EQ(ToExchange("amq.direct", "k", "m").routed, 0u);
}

TEST_F(ExchangeModelTest, DeletingQueueRemovesItsBindings) {
  ASSERT_TRUE(DeclareExchange("x", "direct").ok());
  Declare("q");
  Bind("q", "x", "k");
  ASSERT_TRUE(vh_->DeleteQueue("q", false, false, kConn).ok());
  EXPECT_EQ(vh_->FindExchange("x")->router().size(), 0u);
  Declare("q");
  EXPECT_EQ(ToExchange("x", "k", "m").routed, 0u);
}

TEST_F(ExchangeModelTest, AutoDeleteExchangeGoesWithLastBinding) {
  ASSERT_TRUE(DeclareExchange("ad", "direct", {}, /*auto_delete=*/true).ok());
  Declare("q");
  Bind("q", "ad", "k");
  ASSERT_TRUE(vh_->UnbindQueue("q", "ad", "k", {}, kConn).ok());
  EXPECT_EQ(vh_->FindExchange("ad"), nullptr);
}

}  // namespace
}  // namespace warren::core::model_test
