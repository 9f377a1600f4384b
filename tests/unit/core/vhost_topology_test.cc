// Exchanges and bindings in a vhost: the built-in exchanges, exchange.declare
// and exchange.delete rules, auto-delete, and bind/unbind errors.
#include <gtest/gtest.h>

#include "core/core_fixture.h"

namespace warren::core::test {
namespace {

class VHostTopologyTest : public CoreTest {
 protected:
  ExchangeDeclare Passive(const std::string& name) {
    ExchangeDeclare d;
    d.name = name;
    d.passive = true;
    return d;
  }
};

TEST_F(VHostTopologyTest, BuiltinExchangesExistWithTheirTypes) {
  const std::pair<const char*, const char*> builtins[] = {{"amq.direct", "direct"},
                                                          {"amq.fanout", "fanout"},
                                                          {"amq.topic", "topic"},
                                                          {"amq.headers", "headers"},
                                                          {"amq.match", "headers"}};
  for (auto [name, type] : builtins) {
    Exchange* e = vh_->FindExchange(name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(e->type(), type) << name;
    EXPECT_TRUE(e->durable()) << name;
    EXPECT_FALSE(e->auto_delete()) << name;
    EXPECT_FALSE(e->internal()) << name;
    EXPECT_TRUE(vh_->DeclareExchange(Passive(name)).ok()) << name;
  }
  Exchange* trace = vh_->FindExchange("amq.rabbitmq.trace");
  ASSERT_NE(trace, nullptr);
  EXPECT_EQ(trace->type(), "topic");
  EXPECT_TRUE(trace->durable());
  EXPECT_TRUE(trace->internal());
  EXPECT_EQ(vh_->FindExchange(""), nullptr) << "the default exchange is not an object";
}

TEST_F(VHostTopologyTest, DeclareCreatesAnExchangeOfTheGivenType) {
  ASSERT_TRUE(DeclareExchange("logs", "topic", {}, false, /*durable=*/true).ok());
  Exchange* e = vh_->FindExchange("logs");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->type(), "topic");
  EXPECT_TRUE(e->durable());
}

TEST_F(VHostTopologyTest, DeclareWithUnknownTypeIs503) {
  Status s = DeclareExchange("x", "x-consistent-hash");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kCommandInvalid));
  EXPECT_EQ(s.error().text, "COMMAND_INVALID - unknown exchange type 'x-consistent-hash'");
  EXPECT_EQ(vh_->FindExchange("x"), nullptr);
}

TEST_F(VHostTopologyTest, DeclareWithReservedAmqPrefixIs403) {
  Status s = DeclareExchange("amq.custom", "direct");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kAccessRefused));
  EXPECT_EQ(s.error().text,
            "ACCESS_REFUSED - exchange name 'amq.custom' contains reserved prefix 'amq.*'");
  EXPECT_EQ(vh_->FindExchange("amq.custom"), nullptr);
}

// rabbit_channel's exchange.declare calls rabbit_exchange:check_type before
// anything else, so an unknown type is a 503 even for a reserved name.
TEST_F(VHostTopologyTest, UnknownTypeIsReportedBeforeTheReservedName) {
  Status s = DeclareExchange("amq.custom", "bogus");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kCommandInvalid)) << s.error().text;
  Status dflt = DeclareExchange("", "bogus");
  ASSERT_FALSE(dflt.ok());
  EXPECT_EQ(dflt.error().code, Code(amqp::ReplyCode::kCommandInvalid)) << dflt.error().text;
}

TEST_F(VHostTopologyTest, DeclaringTheDefaultExchangeIs403) {
  Status s = DeclareExchange("", "direct");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kAccessRefused));
}

TEST_F(VHostTopologyTest, RedeclaringABuiltinWithItsOwnPropertiesIsAllowed) {
  EXPECT_TRUE(DeclareExchange("amq.direct", "direct", {}, false, /*durable=*/true).ok());
  Status s = DeclareExchange("amq.direct", "direct", {}, false, /*durable=*/false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
}

TEST_F(VHostTopologyTest, RedeclareWithOtherTypeIs406) {
  ASSERT_TRUE(DeclareExchange("x", "direct").ok());
  Status s = DeclareExchange("x", "fanout");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
  EXPECT_EQ(s.error().text,
            "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'x' in vhost '/': "
            "received 'fanout' but current is 'direct'");
  EXPECT_EQ(vh_->FindExchange("x")->type(), "direct");
}

TEST_F(VHostTopologyTest, RedeclareWithOtherDurableIs406) {
  ASSERT_TRUE(DeclareExchange("x", "direct", {}, false, /*durable=*/true).ok());
  Status s = DeclareExchange("x", "direct", {}, false, /*durable=*/false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
  EXPECT_NE(s.error().text.find("inequivalent arg 'durable'"), std::string::npos);
}

TEST_F(VHostTopologyTest, RedeclareWithOtherAutoDeleteOrAlternateExchangeIs406) {
  ASSERT_TRUE(DeclareExchange("x", "direct", Table({{"alternate-exchange", Str("ae")}})).ok());
  Status ad = DeclareExchange("x", "direct", Table({{"alternate-exchange", Str("ae")}}), true);
  ASSERT_FALSE(ad.ok());
  EXPECT_NE(ad.error().text.find("inequivalent arg 'auto_delete'"), std::string::npos);
  Status ae = DeclareExchange("x", "direct", Table({{"alternate-exchange", Str("other")}}));
  ASSERT_FALSE(ae.ok());
  EXPECT_NE(ae.error().text.find("inequivalent arg 'alternate-exchange'"), std::string::npos);
  EXPECT_TRUE(DeclareExchange("x", "direct", Table({{"alternate-exchange", Str("ae")}})).ok());
}

TEST_F(VHostTopologyTest, PassiveDeclareOfMissingExchangeIs404) {
  Status s = vh_->DeclareExchange(Passive("ghost"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kNotFound));
  EXPECT_EQ(s.error().text, "NOT_FOUND - no exchange 'ghost' in vhost '/'");
}

TEST_F(VHostTopologyTest, DeleteIfUnusedRefusesAnExchangeWithBindings) {
  ASSERT_TRUE(DeclareExchange("x", "direct").ok());
  DeclareQueue("q");
  Bind("q", "x", "k");
  Status s = vh_->DeleteExchange("x", /*if_unused=*/true);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
  EXPECT_EQ(s.error().text, "PRECONDITION_FAILED - exchange 'x' in vhost '/' in use");
  EXPECT_NE(vh_->FindExchange("x"), nullptr);
  ASSERT_TRUE(vh_->UnbindQueue("q", "x", "k", {}, kConn).ok());
  EXPECT_TRUE(vh_->DeleteExchange("x", true).ok());
  EXPECT_EQ(vh_->FindExchange("x"), nullptr);
}

TEST_F(VHostTopologyTest, IfUnusedLooksOnlyAtBindingsWhereTheExchangeIsTheSource) {
  ASSERT_TRUE(DeclareExchange("src", "fanout").ok());
  ASSERT_TRUE(DeclareExchange("dst", "fanout").ok());
  ASSERT_TRUE(vh_->BindExchange("dst", "src", "", {}).ok());
  EXPECT_TRUE(vh_->DeleteExchange("dst", true).ok());
  EXPECT_EQ(vh_->FindExchange("src")->router().size(), 0u)
      << "the binding to the deleted exchange went with it";
}

TEST_F(VHostTopologyTest, DeleteWithoutIfUnusedRemovesExchangeAndItsBindings) {
  ASSERT_TRUE(DeclareExchange("x", "direct").ok());
  DeclareQueue("q");
  Bind("q", "x", "k");
  EXPECT_TRUE(vh_->DeleteExchange("x", false).ok());
  EXPECT_EQ(vh_->FindExchange("x"), nullptr);
  EXPECT_NE(vh_->FindQueue("q"), nullptr);
}

TEST_F(VHostTopologyTest, DeletingABuiltinExchangeIs403) {
  Status s = vh_->DeleteExchange("amq.direct", false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kAccessRefused));
  EXPECT_EQ(s.error().text,
            "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed");
  EXPECT_NE(vh_->FindExchange("amq.direct"), nullptr);
  Status dflt = vh_->DeleteExchange("", false);
  ASSERT_FALSE(dflt.ok());
  EXPECT_EQ(dflt.error().code, Code(amqp::ReplyCode::kAccessRefused));
}

TEST_F(VHostTopologyTest, DeletingAMissingExchangeIs404) {
  Status s = vh_->DeleteExchange("ghost", false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kNotFound));
}

TEST_F(VHostTopologyTest, AutoDeleteExchangeGoesWithItsLastBinding) {
  ASSERT_TRUE(DeclareExchange("temp", "direct", {}, /*auto_delete=*/true).ok());
  DeclareQueue("q1");
  DeclareQueue("q2");
  Bind("q1", "temp", "a");
  Bind("q2", "temp", "b");
  ASSERT_TRUE(vh_->UnbindQueue("q1", "temp", "a", {}, kConn).ok());
  EXPECT_NE(vh_->FindExchange("temp"), nullptr) << "one binding is left";
  ASSERT_TRUE(vh_->UnbindQueue("q2", "temp", "b", {}, kConn).ok());
  EXPECT_EQ(vh_->FindExchange("temp"), nullptr);
}

TEST_F(VHostTopologyTest, AutoDeleteExchangeGoesWhenItsOnlyQueueIsDeleted) {
  ASSERT_TRUE(DeclareExchange("temp", "fanout", {}, /*auto_delete=*/true).ok());
  DeclareQueue("q");
  Bind("q", "temp", "");
  ASSERT_TRUE(vh_->DeleteQueue("q", false, false, kConn).ok());
  EXPECT_EQ(vh_->FindExchange("temp"), nullptr);
}

TEST_F(VHostTopologyTest, AutoDeleteCascadesThroughExchangeBindings) {
  ASSERT_TRUE(DeclareExchange("outer", "fanout", {}, /*auto_delete=*/true).ok());
  ASSERT_TRUE(DeclareExchange("inner", "fanout", {}, /*auto_delete=*/true).ok());
  ASSERT_TRUE(vh_->BindExchange("inner", "outer", "", {}).ok());
  DeclareQueue("q");
  Bind("q", "inner", "");
  ASSERT_TRUE(vh_->DeleteQueue("q", false, false, kConn).ok());
  EXPECT_EQ(vh_->FindExchange("inner"), nullptr);
  EXPECT_EQ(vh_->FindExchange("outer"), nullptr);
}

TEST_F(VHostTopologyTest, AutoDeleteExchangeThatNeverHadBindingsStays) {
  ASSERT_TRUE(DeclareExchange("temp", "direct", {}, /*auto_delete=*/true).ok());
  runtime_.Advance(60'000);
  EXPECT_NE(vh_->FindExchange("temp"), nullptr);
}

TEST_F(VHostTopologyTest, UnbindingAMissingBindingLeavesAutoDeleteExchangeAlone) {
  ASSERT_TRUE(DeclareExchange("temp", "direct", {}, /*auto_delete=*/true).ok());
  DeclareQueue("q");
  Bind("q", "temp", "a");
  EXPECT_TRUE(vh_->UnbindQueue("q", "temp", "other", {}, kConn).ok());
  EXPECT_NE(vh_->FindExchange("temp"), nullptr);
}

TEST_F(VHostTopologyTest, DeletingAQueueRemovesItsBindings) {
  ASSERT_TRUE(DeclareExchange("x", "direct").ok());
  DeclareQueue("q");
  Bind("q", "x", "k");
  Bind("q", "amq.fanout", "");
  ASSERT_TRUE(vh_->DeleteQueue("q", false, false, kConn).ok());
  EXPECT_EQ(vh_->FindExchange("x")->router().size(), 0u);
  EXPECT_EQ(vh_->FindExchange("amq.fanout")->router().size(), 0u);
  EXPECT_EQ(Publish("", "q", "m").routed, 0u);
  DeclareQueue("q");
  EXPECT_EQ(Publish("x", "k", "m").routed, 0u) << "a new queue of that name is not bound";
  EXPECT_EQ(Publish("amq.fanout", "", "m").routed, 0u);
}

TEST_F(VHostTopologyTest, BindingErrors) {
  DeclareQueue("q");
  Status no_queue = vh_->BindQueue("ghost", "amq.direct", "k", {}, kConn);
  ASSERT_FALSE(no_queue.ok());
  EXPECT_EQ(no_queue.error().code, Code(amqp::ReplyCode::kNotFound));
  EXPECT_EQ(no_queue.error().text, "NOT_FOUND - no queue 'ghost' in vhost '/'");
  Status no_exchange = vh_->BindQueue("q", "ghost", "k", {}, kConn);
  ASSERT_FALSE(no_exchange.ok());
  EXPECT_EQ(no_exchange.error().text, "NOT_FOUND - no exchange 'ghost' in vhost '/'");
  Status dflt = vh_->BindQueue("q", "", "k", {}, kConn);
  ASSERT_FALSE(dflt.ok());
  EXPECT_EQ(dflt.error().code, Code(amqp::ReplyCode::kAccessRefused));
  Status e2e = vh_->BindExchange("ghost", "amq.fanout", "", {});
  ASSERT_FALSE(e2e.ok());
  EXPECT_EQ(e2e.error().code, Code(amqp::ReplyCode::kNotFound));
}

TEST_F(VHostTopologyTest, HeadersBindingWithBadXMatchIs406) {
  DeclareQueue("q");
  Status s = vh_->BindQueue("q", "amq.headers", "", Table({{"x-match", Str("some")}}), kConn);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
  EXPECT_EQ(vh_->FindExchange("amq.headers")->router().size(), 0u);
}

TEST_F(VHostTopologyTest, BindingIsIdentifiedByArgumentsInAnyOrder) {
  DeclareQueue("q");
  auto ab = Table({{"a", Long(1)}, {"b", Long(2)}});
  auto ba = Table({{"b", Long(2)}, {"a", Long(1)}});
  ASSERT_TRUE(vh_->BindQueue("q", "amq.direct", "k", ab, kConn).ok());
  ASSERT_TRUE(vh_->BindQueue("q", "amq.direct", "k", ba, kConn).ok());
  EXPECT_EQ(vh_->FindExchange("amq.direct")->router().size(), 1u);
  ASSERT_TRUE(vh_->UnbindQueue("q", "amq.direct", "k", ba, kConn).ok());
  EXPECT_EQ(vh_->FindExchange("amq.direct")->router().size(), 0u);
}

}  // namespace
}  // namespace warren::core::test
