// VHost::Publish: the default exchange, exchange-to-exchange bindings (with
// cycles), one copy per queue, and alternate exchanges (RabbitMQ 3.13's
// rabbit_exchange:route).
#include <gtest/gtest.h>

#include "core/core_fixture.h"

namespace warren::core::test {
namespace {

class PublishPathTest : public CoreTest {
 protected:
  void BindX(const std::string& destination, const std::string& source, const std::string& key) {
    Status s = vh_->BindExchange(destination, source, key, {});
    EXPECT_TRUE(s.ok()) << destination << "<-" << source << ": " << s.error().text;
  }
  static amqp::FieldTable Ae(const std::string& name) {
    return Table({{"alternate-exchange", Str(name)}});
  }
};

TEST_F(PublishPathTest, DefaultExchangeRoutesByQueueName) {
  auto q = DeclareQueue("orders");
  auto other = DeclareQueue("other");
  PublishOutcome hit = Publish("", "orders", "m");
  EXPECT_EQ(hit.routed, 1u);
  EXPECT_FALSE(hit.rejected);
  EXPECT_EQ(q->ready_count(), 1u);
  EXPECT_EQ(other->ready_count(), 0u);
  EXPECT_EQ(Publish("", "nobody", "m").routed, 0u);
}

TEST_F(PublishPathTest, DirectExchangeDeliversToMatchingBindingsOnly) {
  auto a = DeclareQueue("a");
  auto b = DeclareQueue("b");
  Bind("a", "amq.direct", "red");
  Bind("b", "amq.direct", "blue");
  EXPECT_EQ(Publish("amq.direct", "red", "m").routed, 1u);
  EXPECT_EQ(a->ready_count(), 1u);
  EXPECT_EQ(b->ready_count(), 0u);
  EXPECT_EQ(Publish("amq.direct", "green", "m").routed, 0u);
}

TEST_F(PublishPathTest, QueueMatchedByTwoBindingsGetsOneCopy) {
  auto q = DeclareQueue("q");
  Bind("q", "amq.topic", "a.*");
  Bind("q", "amq.topic", "#");
  Bind("q", "amq.topic", "a.b");
  PublishOutcome out = Publish("amq.topic", "a.b", "m");
  EXPECT_EQ(out.routed, 1u);
  EXPECT_EQ(q->ready_count(), 1u);
}

TEST_F(PublishPathTest, ExchangeToExchangeBindingRoutesThrough) {
  ASSERT_TRUE(DeclareExchange("front", "direct").ok());
  ASSERT_TRUE(DeclareExchange("back", "fanout").ok());
  auto q = DeclareQueue("q");
  BindX("back", "front", "k");
  Bind("q", "back", "");
  EXPECT_EQ(Publish("front", "k", "m").routed, 1u);
  EXPECT_EQ(Publish("front", "other", "m").routed, 0u);
  EXPECT_EQ(q->ready_count(), 1u);
}

TEST_F(PublishPathTest, QueueReachedDirectlyAndThroughAnotherExchangeGetsOneCopy) {
  ASSERT_TRUE(DeclareExchange("a", "fanout").ok());
  ASSERT_TRUE(DeclareExchange("b", "fanout").ok());
  auto q = DeclareQueue("q");
  Bind("q", "a", "");
  Bind("q", "b", "");
  BindX("b", "a", "");
  EXPECT_EQ(Publish("a", "", "m").routed, 1u);
  EXPECT_EQ(q->ready_count(), 1u);
}

TEST_F(PublishPathTest, ExchangeCycleDeliversOncePerQueue) {
  ASSERT_TRUE(DeclareExchange("a", "fanout").ok());
  ASSERT_TRUE(DeclareExchange("b", "fanout").ok());
  auto qa = DeclareQueue("qa");
  auto qb = DeclareQueue("qb");
  BindX("b", "a", "");
  BindX("a", "b", "");
  Bind("qa", "a", "");
  Bind("qb", "b", "");
  EXPECT_EQ(Publish("a", "", "1").routed, 2u);
  EXPECT_EQ(Publish("b", "", "2").routed, 2u);
  EXPECT_EQ(Drain(*qa), (Names{"1", "2"}));
  EXPECT_EQ(Drain(*qb), (Names{"1", "2"}));
}

TEST_F(PublishPathTest, ExchangeBoundToItselfDeliversOnce) {
  ASSERT_TRUE(DeclareExchange("a", "fanout").ok());
  auto q = DeclareQueue("q");
  BindX("a", "a", "");
  Bind("q", "a", "");
  EXPECT_EQ(Publish("a", "", "m").routed, 1u);
  EXPECT_EQ(q->ready_count(), 1u);
}

TEST_F(PublishPathTest, AlternateExchangeReceivesUnroutableMessages) {
  ASSERT_TRUE(DeclareExchange("ae", "fanout").ok());
  ASSERT_TRUE(DeclareExchange("main", "direct", Ae("ae")).ok());
  auto routed = DeclareQueue("routed");
  auto unrouted = DeclareQueue("unrouted");
  Bind("routed", "main", "k");
  Bind("unrouted", "ae", "");
  EXPECT_EQ(Publish("main", "k", "hit").routed, 1u);
  EXPECT_EQ(Publish("main", "miss", "miss").routed, 1u);
  EXPECT_EQ(Drain(*routed), (Names{"hit"}));
  EXPECT_EQ(Drain(*unrouted), (Names{"miss"}));
}

TEST_F(PublishPathTest, MissingAlternateExchangeLeavesTheMessageUnroutable) {
  ASSERT_TRUE(DeclareExchange("main", "direct", Ae("ghost")).ok());
  EXPECT_EQ(Publish("main", "k", "m").routed, 0u);
}

TEST_F(PublishPathTest, AlternateExchangesChain) {
  ASSERT_TRUE(DeclareExchange("ae2", "fanout").ok());
  ASSERT_TRUE(DeclareExchange("ae1", "direct", Ae("ae2")).ok());
  ASSERT_TRUE(DeclareExchange("main", "direct", Ae("ae1")).ok());
  auto last = DeclareQueue("last");
  Bind("last", "ae2", "");
  EXPECT_EQ(Publish("main", "k", "m").routed, 1u);
  EXPECT_EQ(last->ready_count(), 1u);
}

TEST_F(PublishPathTest, AlternateExchangeLoopEnds) {
  ASSERT_TRUE(DeclareExchange("x", "direct", Ae("y")).ok());
  ASSERT_TRUE(DeclareExchange("y", "direct", Ae("x")).ok());
  EXPECT_EQ(Publish("x", "k", "m").routed, 0u);
}

// rabbit_exchange:route1 consults an exchange's alternate exchange when that
// exchange's own bindings match nothing, for every exchange the message
// reaches, not only the one it was published to.
TEST_F(PublishPathTest, AlternateExchangeOfAnInnerExchangeIsUsed) {
  ASSERT_TRUE(DeclareExchange("inner-ae", "fanout").ok());
  ASSERT_TRUE(DeclareExchange("inner", "direct", Ae("inner-ae")).ok());
  ASSERT_TRUE(DeclareExchange("outer", "fanout").ok());
  BindX("inner", "outer", "");
  auto q = DeclareQueue("q");
  Bind("q", "inner-ae", "");
  EXPECT_EQ(Publish("outer", "unbound-key", "m").routed, 1u);
  EXPECT_EQ(q->ready_count(), 1u);
}

// ...and not when the exchange did route somewhere, even if only to an
// exchange that then matched nothing.
TEST_F(PublishPathTest, AlternateExchangeIsNotUsedWhenTheExchangeRoutedToAnotherExchange) {
  ASSERT_TRUE(DeclareExchange("ae", "fanout").ok());
  ASSERT_TRUE(DeclareExchange("outer", "fanout", Ae("ae")).ok());
  ASSERT_TRUE(DeclareExchange("inner", "direct").ok());
  BindX("inner", "outer", "");
  auto q = DeclareQueue("caught");
  Bind("caught", "ae", "");
  EXPECT_EQ(Publish("outer", "unbound-key", "m").routed, 0u);
  EXPECT_EQ(q->ready_count(), 0u);
}

TEST_F(PublishPathTest, MessageIsSharedNotCopiedBetweenQueues) {
  auto a = DeclareQueue("a");
  auto b = DeclareQueue("b");
  Bind("a", "amq.fanout", "");
  Bind("b", "amq.fanout", "");
  auto m = Msg("amq.fanout", "", "payload");
  EXPECT_EQ(vh_->Publish(vh_->FindExchange("amq.fanout"), m).routed, 2u);
  EXPECT_EQ(a->Get(true)->message.get(), m.get());
  EXPECT_EQ(b->Get(true)->message.get(), m.get());
}

}  // namespace
}  // namespace warren::core::test
