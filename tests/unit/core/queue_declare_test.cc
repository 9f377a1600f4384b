// queue.declare in the model: x-argument validation, redeclare
// equivalence, passive declares, server-named and reserved names.
#include <gtest/gtest.h>

#include "core/core_fixture.h"

namespace warren::core::test {
namespace {

using amqp::FieldType;
using amqp::FieldValue;

class QueueDeclareTest : public CoreTest {
 protected:
  // Declaring "q" with `key` = `value` is refused with 406 invalid arg. When
  // `reason` is given, it is what RabbitMQ says after the colon.
  void ExpectInvalidArg(const std::string& key, FieldValue value, std::string reason = "") {
    SCOPED_TRACE(key + " of type '" + std::string(1, value.type) + "' " + reason);
    amqp::FieldTable args;
    args.Set(key, std::move(value));
    auto r = TryDeclare("q", args);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
    const std::string prefix =
        "PRECONDITION_FAILED - invalid arg '" + key + "' for queue 'q' in vhost '/'";
    if (reason.empty())
      EXPECT_EQ(r.error().text.rfind(prefix, 0), 0u) << r.error().text;
    else
      EXPECT_EQ(r.error().text, prefix + ": " + reason);
    EXPECT_EQ(vh_->FindQueue("q"), nullptr) << "a refused declare creates nothing";
  }
};

TEST_F(QueueDeclareTest, InvalidArgumentsAre406InvalidArg) {
  ExpectInvalidArg("x-message-ttl", Long(-1), "{value_negative,-1}");
  ExpectInvalidArg("x-message-ttl", Str("1000"), "{unacceptable_type,longstr}");
  ExpectInvalidArg("x-message-ttl", FieldValue::Timestamp(5));
  ExpectInvalidArg("x-expires", Long(0), "{value_zero,0}");
  ExpectInvalidArg("x-expires", Long(-5), "{value_negative,-5}");
  ExpectInvalidArg("x-max-length", Long(-1), "{value_negative,-1}");
  ExpectInvalidArg("x-max-length-bytes", Long(-1), "{value_negative,-1}");
  ExpectInvalidArg("x-max-length-bytes", Str("big"));
  ExpectInvalidArg("x-overflow", Str("drop-tail"), "invalid_overflow");
  ExpectInvalidArg("x-overflow", Long(1));
  ExpectInvalidArg("x-dead-letter-exchange", Long(1));
  ExpectInvalidArg("x-dead-letter-routing-key", Str("k"), "routing_key_but_no_dlx_defined");
  ExpectInvalidArg("x-max-priority", Long(256), "{max_value_exceeded,256}");
  ExpectInvalidArg("x-max-priority", Long(-1));
  ExpectInvalidArg("x-single-active-consumer", Str("true"));
  ExpectInvalidArg("x-queue-mode", Str("fast"));
  ExpectInvalidArg("x-queue-type", Str("stream"), "{unsupported_queue_type,<<\"stream\">>}");
}

// rabbit_amqqueue:check_message_ttl_arg and check_expires_arg end in
// rabbit_misc:check_expiry: above 4294967295 ms is {value_too_big, N}. Without
// the bound, NowMs() + TTL can overflow int64.
TEST_F(QueueDeclareTest, TtlAndExpiresAboveTheMaximumExpiryAreInvalid) {
  ExpectInvalidArg("x-message-ttl", Long(4294967296));
  ExpectInvalidArg("x-message-ttl", Long(INT64_MAX));
  ExpectInvalidArg("x-expires", Long(4294967296));
  EXPECT_TRUE(TryDeclare("q", Table({{"x-message-ttl", Long(4294967295)},
                                     {"x-expires", Long(4294967295)}}))
                  .ok());
}

TEST_F(QueueDeclareTest, BoundaryArgumentsAreAccepted) {
  auto r = TryDeclare("q", Table({{"x-message-ttl", Long(0)},
                                  {"x-expires", Long(1)},
                                  {"x-max-length", Long(0)},
                                  {"x-max-length-bytes", Long(0)},
                                  {"x-max-priority", Long(255)},
                                  {"x-overflow", Str("reject-publish-dlx")},
                                  {"x-dead-letter-exchange", Str("")},
                                  {"x-dead-letter-routing-key", Str("k")},
                                  {"x-single-active-consumer", FieldValue::Bool(false)},
                                  {"x-queue-mode", Str("lazy")},
                                  {"x-queue-type", Str("quorum")}}));
  ASSERT_TRUE(r.ok()) << r.error().text;
  const QueueArgs& a = vh_->FindQueue("q")->options().args;
  EXPECT_EQ(a.max_priority, 255);
  EXPECT_EQ(a.overflow, Overflow::kRejectPublishDlx);
  EXPECT_EQ(a.dead_letter_exchange, "");
  EXPECT_EQ(a.expires, 1);
}

TEST_F(QueueDeclareTest, AnyIntegerWidthIsAcceptedForIntegerArguments) {
  auto r = TryDeclare("q", Table({{"x-message-ttl", FieldValue::Int(FieldType::kUInt16, 500)},
                                  {"x-max-priority", FieldValue::Int(FieldType::kInt8, 4)}}));
  ASSERT_TRUE(r.ok()) << r.error().text;
  EXPECT_EQ(vh_->FindQueue("q")->options().args.message_ttl, 500);
}

TEST_F(QueueDeclareTest, RedeclareWithOtherDurableIs406InequivalentArg) {
  ASSERT_TRUE(TryDeclare("q", {}, /*durable=*/true).ok());
  auto r = TryDeclare("q", {}, /*durable=*/false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
  EXPECT_EQ(r.error().text,
            "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': "
            "received 'false' but current is 'true'");
}

TEST_F(QueueDeclareTest, RedeclareWithOtherAutoDeleteIs406) {
  ASSERT_TRUE(TryDeclare("q", {}, false, false, /*auto_delete=*/true).ok());
  auto r = TryDeclare("q", {}, false, false, /*auto_delete=*/false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().text.find("inequivalent arg 'auto_delete'"), std::string::npos);
}

TEST_F(QueueDeclareTest, RedeclareWithOtherArgumentsIs406InequivalentArg) {
  ASSERT_TRUE(TryDeclare("q", Table({{"x-message-ttl", Long(1000)}})).ok());
  auto changed = TryDeclare("q", Table({{"x-message-ttl", Long(2000)}}));
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
  EXPECT_EQ(changed.error().text,
            "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q' in vhost "
            "'/': received '2000' but current is '1000'");
  auto dropped = TryDeclare("q", {});
  ASSERT_FALSE(dropped.ok());
  EXPECT_NE(dropped.error().text.find("inequivalent arg 'x-message-ttl'"), std::string::npos);
  auto added = TryDeclare("q", Table({{"x-message-ttl", Long(1000)}, {"x-max-length", Long(3)}}));
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().text.find("inequivalent arg 'x-max-length'"), std::string::npos);
}

TEST_F(QueueDeclareTest, NoQueueTypeAndClassicAreTheSameQueue) {
  ASSERT_TRUE(TryDeclare("plain", {}).ok());
  auto classic = TryDeclare("plain", Table({{"x-queue-type", Str("classic")}}));
  EXPECT_TRUE(classic.ok()) << classic.error().text;
  ASSERT_TRUE(TryDeclare("typed", Table({{"x-queue-type", Str("classic")}})).ok());
  auto untyped = TryDeclare("typed", {});
  EXPECT_TRUE(untyped.ok()) << untyped.error().text;
  // Another type is another queue.
  auto quorum = TryDeclare("plain", Table({{"x-queue-type", Str("quorum")}}));
  ASSERT_FALSE(quorum.ok());
  EXPECT_NE(quorum.error().text.find("inequivalent arg 'x-queue-type'"), std::string::npos);
}

TEST_F(QueueDeclareTest, RedeclareWithSameValueInAnotherIntegerWidthIsEquivalent) {
  ASSERT_TRUE(TryDeclare("q", Table({{"x-message-ttl", FieldValue::Int(FieldType::kInt32, 1000)}}))
                  .ok());
  auto r = TryDeclare("q", Table({{"x-message-ttl", Long(1000)}}));
  EXPECT_TRUE(r.ok()) << r.error().text;
}

TEST_F(QueueDeclareTest, RedeclareIgnoresArgumentsRabbitMqDoesNotCompare) {
  ASSERT_TRUE(TryDeclare("q", Table({{"x-custom", Str("a")}})).ok());
  EXPECT_TRUE(TryDeclare("q", Table({{"x-custom", Str("b")}})).ok());
}

TEST_F(QueueDeclareTest, RedeclareReportsMessageAndConsumerCounts) {
  auto q = DeclareQueue("q");
  Publish("", "q", "1");
  Publish("", "q", "2");
  auto r = TryDeclare("q");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().name, "q");
  EXPECT_EQ(r.value().message_count, 2u);
  EXPECT_EQ(r.value().consumer_count, 0u);
}

TEST_F(QueueDeclareTest, PassiveDeclareOfMissingQueueIs404) {
  QueueDeclare d;
  d.name = "ghost";
  d.passive = true;
  auto r = vh_->DeclareQueue(d, kConn);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code(amqp::ReplyCode::kNotFound));
  EXPECT_EQ(r.error().text, "NOT_FOUND - no queue 'ghost' in vhost '/'");
  EXPECT_EQ(vh_->FindQueue("ghost"), nullptr);
}

TEST_F(QueueDeclareTest, PassiveDeclareIgnoresFlagsAndArgumentsAndReportsCounts) {
  auto q = DeclareQueue("q", Table({{"x-max-length", Long(10)}}));
  Publish("", "q", "m");
  auto c = Consume(q, "c");
  sink_.SetCredit(*c, 0);
  Publish("", "q", "n");
  QueueDeclare d;
  d.name = "q";
  d.passive = true;
  d.durable = true;
  auto r = vh_->DeclareQueue(d, kConn);
  ASSERT_TRUE(r.ok()) << r.error().text;
  EXPECT_EQ(r.value().message_count, 1u);
  EXPECT_EQ(r.value().consumer_count, 1u);
}

TEST_F(QueueDeclareTest, ServerNamedQueuesStartWithAmqGenAndAreDistinct) {
  auto a = TryDeclare("");
  auto b = TryDeclare("");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a.value().name.rfind("amq.gen-", 0), 0u) << a.value().name;
  EXPECT_GT(a.value().name.size(), std::string("amq.gen-").size());
  EXPECT_NE(a.value().name, b.value().name);
  EXPECT_NE(vh_->FindQueue(a.value().name), nullptr);
}

TEST_F(QueueDeclareTest, ReservedAmqNamesAre403) {
  for (const char* name : {"amq.q", "amq.gen-chosen"}) {
    auto r = TryDeclare(name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error().code, Code(amqp::ReplyCode::kAccessRefused)) << name;
    EXPECT_EQ(r.error().text, "ACCESS_REFUSED - queue name '" + std::string(name) +
                                  "' contains reserved prefix 'amq.*'");
  }
  EXPECT_TRUE(TryDeclare("amqp.fine").ok());
}

// docs/parameters.md, "Vhost metadata": RabbitMQ 3.13's default queue type.
TEST_F(QueueDeclareTest, TheVHostsDefaultTypeIsGivenToNewQueuesThatCanHaveIt) {
  ASSERT_TRUE(TryDeclare("before", {}, /*durable=*/true).ok());
  VHostMetadata meta;
  meta.default_queue_type = "quorum";
  vh_->set_metadata(meta);
  auto type = [&](const std::string& q) {
    const FieldValue* t = vh_->FindQueue(q)->options().arguments.Find("x-queue-type");
    return t && t->AsString() ? *t->AsString() : std::string("none");
  };
  ASSERT_TRUE(TryDeclare("durable", {}, true).ok());
  EXPECT_EQ(type("durable"), "quorum");
  ASSERT_TRUE(TryDeclare("transient", {}, false).ok());
  EXPECT_EQ(type("transient"), "classic") << "a quorum queue must be durable";
  ASSERT_TRUE(TryDeclare("exclusive", {}, true, /*exclusive=*/true).ok());
  EXPECT_EQ(type("exclusive"), "classic");
  ASSERT_TRUE(TryDeclare("auto", {}, true, false, /*auto_delete=*/true).ok());
  EXPECT_EQ(type("auto"), "classic");
  amqp::FieldTable classic;
  classic.Set("x-queue-type", Str("classic"));
  ASSERT_TRUE(TryDeclare("chosen", classic, true).ok());
  EXPECT_EQ(type("chosen"), "classic") << "a type given is kept";
  EXPECT_EQ(type("before"), "none") << "a queue from before the default is left as it was";

  EXPECT_TRUE(TryDeclare("durable", {}, true).ok()) << "declared again as it was";
  EXPECT_TRUE(TryDeclare("before", {}, true).ok()) << "declared again as it was";
  auto r = TryDeclare("chosen", {}, true);
  ASSERT_FALSE(r.ok()) << "without a type it would now be a quorum queue, as in RabbitMQ";
  EXPECT_NE(r.error().text.find("inequivalent arg 'x-queue-type'"), std::string::npos)
      << r.error().text;
}

}  // namespace
}  // namespace warren::core::test
