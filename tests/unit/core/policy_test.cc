// Policies (RabbitMQ 3.13): validation of each definition key, which policy
// matches which object, and what a policy change does to queues and
// exchanges that already exist.
#include "broker/core/policy.h"

#include "amqp/constants.h"
#include "core/core_fixture.h"

namespace warren::core::test {
namespace {

using amqp::FieldArray;
using amqp::FieldValue;

Policy MakePolicy(std::string name, std::string pattern, amqp::FieldTable definition,
                  ApplyTo apply_to = ApplyTo::kAll, int32_t priority = 0) {
  Policy p;
  p.vhost = "/";
  p.name = std::move(name);
  p.pattern = std::move(pattern);
  p.apply_to = apply_to;
  p.priority = priority;
  p.definition = std::move(definition);
  return p;
}

// "" when the definition is valid, else the error text (and the code must
// be 406).
std::string Why(amqp::FieldTable definition, std::string pattern = ".*") {
  Policy p = MakePolicy("p", std::move(pattern), std::move(definition));
  Status s = ValidatePolicy(p);
  if (s.ok()) return "";
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
  return s.error().text;
}

FieldValue List(std::initializer_list<FieldValue> items) { return FieldValue::Array(items); }

// Each key with values RabbitMQ takes and values it refuses.
struct KeyCase {
  std::string key;
  std::vector<FieldValue> good, bad;
};

TEST(PolicyValidation, EachKeyTakesItsValuesAndRefusesOthers) {
  const std::vector<KeyCase> cases = {
      {"message-ttl", {Long(0), Long(60000)}, {Long(-1), Str("10")}},
      {"expires", {Long(1), Long(86400000)}, {Long(0), Long(-5), Str("1")}},
      {"max-length", {Long(0), Long(10)}, {Long(-1), Bool(true)}},
      {"max-length-bytes", {Long(0), Long(1 << 20)}, {Long(-1), Str("big")}},
      {"overflow",
       {Str("drop-head"), Str("reject-publish"), Str("reject-publish-dlx")},
       {Str("drop-tail"), Str(""), Long(1)}},
      {"dead-letter-exchange", {Str("dlx"), Str("")}, {Long(1), List({Str("a")})}},
      {"dead-letter-routing-key", {Str("rk")}, {Long(1)}},
      {"queue-mode", {Str("default"), Str("lazy")}, {Str("eager"), Long(0)}},
      {"alternate-exchange", {Str("ae")}, {Long(7)}},
      {"ha-sync-mode", {Str("manual"), Str("automatic")}, {Str("sometimes"), Long(1)}},
      {"ha-promote-on-shutdown", {Str("always"), Str("when-synced")}, {Str("never")}},
      {"ha-promote-on-failure", {Str("always"), Str("when-synced")}, {Str("never")}},
      {"ha-sync-batch-size", {Long(1), Long(4096)}, {Long(0), Long(-1), Str("8")}},
  };
  for (const KeyCase& c : cases) {
    // ha-* keys other than the batch size need an ha-mode beside them.
    bool needs_mode = c.key.rfind("ha-", 0) == 0 && c.key != "ha-sync-batch-size";
    for (const FieldValue& v : c.good) {
      amqp::FieldTable d = Table({{c.key, v}});
      if (needs_mode) d.Set("ha-mode", Str("all"));
      EXPECT_EQ(Why(d), "") << c.key;
    }
    for (const FieldValue& v : c.bad) {
      amqp::FieldTable d = Table({{c.key, v}});
      if (needs_mode) d.Set("ha-mode", Str("all"));
      std::string why = Why(d);
      EXPECT_NE(why.find("PRECONDITION_FAILED - Validation failed: " + c.key + ": "),
                std::string::npos)
          << c.key << " -> " << why;
    }
  }
}

TEST(PolicyValidation, TextsSayWhatIsWrongAsRabbitMqDoes) {
  EXPECT_EQ(Why(Table({{"message-ttl", Long(-1)}})),
            "PRECONDITION_FAILED - Validation failed: message-ttl: -1 is not a valid message TTL");
  EXPECT_EQ(Why(Table({{"overflow", Str("drop-tail")}})),
            "PRECONDITION_FAILED - Validation failed: overflow: <<\"drop-tail\">> is not a valid "
            "overflow value");
  EXPECT_EQ(Why(Table({{"ha-mode", Str("all")}, {"ha-sync-mode", Str("x")}})),
            "PRECONDITION_FAILED - Validation failed: ha-sync-mode: must be \"manual\" or "
            "\"automatic\", got <<\"x\">>");
}

TEST(PolicyValidation, UnknownKeysAreNamedTogether) {
  EXPECT_EQ(Why(Table({{"foo", Long(1)}, {"max-length", Long(1)}, {"bar", Str("x")}})),
            "PRECONDITION_FAILED - Validation failed: [<<\"foo\">>,<<\"bar\">>] are not "
            "recognised policy settings");
  // x-arguments are queue arguments, not policy keys.
  EXPECT_NE(Why(Table({{"x-message-ttl", Long(1)}})).find("are not recognised policy settings"),
            std::string::npos);
}

TEST(PolicyValidation, AnEmptyDefinitionIsRefused) {
  EXPECT_EQ(Why({}), "PRECONDITION_FAILED - Validation failed: no policy provided");
}

TEST(PolicyValidation, ThePatternMustCompileAndIsCompiled) {
  EXPECT_EQ(Why(Table({{"max-length", Long(1)}}), "(unclosed"),
            "PRECONDITION_FAILED - Validation failed: pattern: <<\"(unclosed\">> is not a valid "
            "regular expression");
  Policy p = MakePolicy("p", "^(?!amq\\.).*", Table({{"max-length", Long(1)}}), ApplyTo::kAll, -10);
  ASSERT_TRUE(ValidatePolicy(p).ok());
  EXPECT_TRUE(PolicyMatches(p, true, "orders"));
  EXPECT_FALSE(PolicyMatches(p, true, "amq.gen-x"));
}

TEST(PolicyValidation, HaModeAndHaParamsGoTogether) {
  auto ha = [](FieldValue mode, std::optional<FieldValue> params) {
    amqp::FieldTable d = Table({{"ha-mode", std::move(mode)}});
    if (params) d.Set("ha-params", *params);
    return Why(d);
  };
  EXPECT_EQ(ha(Str("all"), std::nullopt), "");
  EXPECT_NE(ha(Str("all"), Long(2)).find("ha-params: ha-mode=\"all\" does not take parameters"),
            std::string::npos);
  EXPECT_EQ(ha(Str("exactly"), Long(2)), "");
  EXPECT_NE(ha(Str("exactly"), std::nullopt).find("takes an integer, none given"),
            std::string::npos);
  EXPECT_NE(ha(Str("exactly"), Long(0)).find("takes an integer, 0 given"), std::string::npos);
  EXPECT_NE(ha(Str("exactly"), Str("2")).find("takes an integer, <<\"2\">> given"),
            std::string::npos);
  EXPECT_EQ(ha(Str("nodes"), List({Str("rabbit@a"), Str("rabbit@b")})), "");
  EXPECT_NE(ha(Str("nodes"), std::nullopt).find("takes a list, none given"), std::string::npos);
  EXPECT_NE(ha(Str("nodes"), List({})).find("list must be non-empty"), std::string::npos);
  EXPECT_NE(ha(Str("nodes"), List({Str("a"), Long(1)})).find("takes a list of strings, [1] given"),
            std::string::npos);
  EXPECT_NE(ha(Str("nodes"), Str("a")).find("takes a list, <<\"a\">> given"), std::string::npos);
  EXPECT_NE(
      ha(Str("some"), std::nullopt).find("ha-mode: <<\"some\">> is not a valid ha-mode value"),
      std::string::npos);
  EXPECT_NE(Why(Table({{"ha-params", Long(2)}})).find("ha-mode must be specified"),
            std::string::npos);
}

TEST(PolicyValidation, ApplyToNamesRoundTrip) {
  for (ApplyTo a : {ApplyTo::kAll, ApplyTo::kQueues, ApplyTo::kExchanges})
    EXPECT_EQ(ParseApplyTo(ApplyToName(a)), a);
  EXPECT_EQ(ParseApplyTo("queue"), std::nullopt);
  EXPECT_EQ(ParseApplyTo(""), std::nullopt);
}

TEST(PolicyMatching, ThePatternIsSearchedNotAnchored) {
  Policy p = MakePolicy("p", "ord", Table({{"max-length", Long(1)}}));
  ASSERT_TRUE(ValidatePolicy(p).ok());
  EXPECT_TRUE(PolicyMatches(p, true, "orders"));
  EXPECT_TRUE(PolicyMatches(p, true, "my-orders"));
  EXPECT_FALSE(PolicyMatches(p, true, "invoices"));
  Policy anchored = MakePolicy("a", "^ord", Table({{"max-length", Long(1)}}));
  ASSERT_TRUE(ValidatePolicy(anchored).ok());
  EXPECT_FALSE(PolicyMatches(anchored, true, "my-orders"));
}

TEST(PolicyMatching, ApplyToSelectsTheKind) {
  std::map<std::string, Policy> ps;
  for (auto [name, to] : {std::pair{"q", ApplyTo::kQueues}, {"x", ApplyTo::kExchanges}}) {
    Policy p = MakePolicy(name, ".*", Table({{"max-length", Long(1)}}), to);
    ASSERT_TRUE(ValidatePolicy(p).ok());
    ps.emplace(name, std::move(p));
  }
  EXPECT_TRUE(PolicyMatches(ps.at("q"), true, "a"));
  EXPECT_FALSE(PolicyMatches(ps.at("q"), false, "a"));
  EXPECT_TRUE(PolicyMatches(ps.at("x"), false, "a"));
  EXPECT_EQ(EffectivePolicy(ps, true, "a")->name, "q");
  EXPECT_EQ(EffectivePolicy(ps, false, "a")->name, "x");
}

TEST(PolicyMatching, HighestPriorityWinsAndTiesGoToTheFirstName) {
  std::map<std::string, Policy> ps;
  auto add = [&](const std::string& name, const std::string& pattern, int32_t prio) {
    Policy p = MakePolicy(name, pattern, Table({{"max-length", Long(1)}}), ApplyTo::kAll, prio);
    ASSERT_TRUE(ValidatePolicy(p).ok());
    ps.emplace(name, std::move(p));
  };
  add("b-low", ".*", 0);
  add("c-high", "^orders$", 5);
  add("a-tie", "^orders$", 5);
  EXPECT_EQ(EffectivePolicy(ps, true, "orders")->name, "a-tie");
  EXPECT_EQ(EffectivePolicy(ps, true, "other")->name, "b-low");
  ps.erase("b-low");
  EXPECT_EQ(EffectivePolicy(ps, true, "other"), nullptr);
}

class PolicyTest : public CoreTest {
 protected:
  void Set(const std::string& name, const std::string& pattern, amqp::FieldTable definition,
           ApplyTo apply_to = ApplyTo::kAll, int32_t priority = 0) {
    Status s = vh_->SetPolicy(MakePolicy(name, pattern, std::move(definition), apply_to, priority));
    ASSERT_TRUE(s.ok()) << s.error().text;
  }
  // The one ready message of `q` is still there ms-1 from now and gone at ms.
  void ExpectExpiresIn(Queue& q, int64_t ms) {
    EXPECT_EQ(q.ready_count(), 1u);
    runtime_.Advance(ms - 1);
    EXPECT_EQ(q.ready_count(), 1u);
    runtime_.Advance(1);
    EXPECT_EQ(q.ready_count(), 0u);
  }
  // "dlx" (fanout) -> "dlq".
  void DeclareDlx(const std::string& exchange = "dlx", const std::string& queue = "dlq") {
    ASSERT_TRUE(DeclareExchange(exchange, "fanout").ok());
    DeclareQueue(queue);
    Bind(queue, exchange, "");
  }
};

TEST_F(PolicyTest, ANewMessageTtlExpiresMessagesAlreadyQueued) {
  auto q = DeclareQueue("work");
  Publish("", "work", "old");
  runtime_.Advance(3000);
  Publish("", "work", "new");
  Set("ttl", "^work$", Table({{"message-ttl", Long(2000)}}));
  EXPECT_EQ(q->policy_name(), "ttl");
  EXPECT_EQ(q->options().args.message_ttl, 2000);
  // "old" is 3000 ms old: gone at once. "new" has 2000 ms from its arrival.
  ExpectExpiresIn(*q, 2000);
  EXPECT_EQ(q->counters().dead_lettered, 2u);
}

TEST_F(PolicyTest, ADeadLetterExchangeAddedByAPolicyChangeTakesExpiredMessages) {
  DeclareDlx();
  auto q = DeclareQueue("work");
  Set("p", "^work$", Table({{"message-ttl", Long(1000)}}));
  Publish("", "work", "m");
  runtime_.Advance(500);
  // The same policy, replaced: now with a dead-letter exchange.
  Set("p", "^work$", Table({{"message-ttl", Long(1000)}, {"dead-letter-exchange", Str("dlx")}}));
  EXPECT_EQ(vh_->policies().size(), 1u);
  EXPECT_EQ(q->ready_count(), 1u);
  runtime_.Advance(500);
  EXPECT_EQ(q->ready_count(), 0u);
  auto dlq = vh_->FindQueue("dlq");
  ASSERT_EQ(dlq->ready_count(), 1u);
  auto e = dlq->Get(true);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message->body, "m");
  amqp::FieldArray deaths = Deaths(*e->message);
  EXPECT_EQ(HeaderStr(Entry(deaths, 0), "reason"), "expired");
  EXPECT_EQ(HeaderStr(Entry(deaths, 0), "queue"), "work");
}

TEST_F(PolicyTest, QueueArgumentsWinExceptThatTheSmallerLimitApplies) {
  DeclareDlx("dlx-arg", "dlq-arg");
  DeclareDlx("dlx-policy", "dlq-policy");
  auto q = DeclareQueue("work", Table({{"x-dead-letter-exchange", Str("dlx-arg")},
                                 {"x-message-ttl", Long(500)},
                                 {"x-max-length", Long(100)}}));
  Set("p", "^work$",
      Table({{"dead-letter-exchange", Str("dlx-policy")},
            {"message-ttl", Long(2000)},
            {"max-length", Long(3)}}));
  const QueueArgs& a = q->options().args;
  EXPECT_EQ(a.dead_letter_exchange, "dlx-arg");
  EXPECT_EQ(a.message_ttl, 500);  // the queue's is smaller
  EXPECT_EQ(a.max_length, 3);     // the policy's is smaller
  Publish("", "work", "m");
  runtime_.Advance(500);
  EXPECT_EQ(vh_->FindQueue("dlq-arg")->ready_count(), 1u);
  EXPECT_EQ(vh_->FindQueue("dlq-policy")->ready_count(), 0u);
}

TEST_F(PolicyTest, APolicyTtlSmallerThanTheQueuesWins) {
  auto q = DeclareQueue("work", Table({{"x-message-ttl", Long(5000)}}));
  Set("p", "^work$", Table({{"message-ttl", Long(1000)}}));
  Publish("", "work", "m");
  ExpectExpiresIn(*q, 1000);
}

TEST_F(PolicyTest, MaxLengthByPolicyTrimsAnExistingQueueFromTheHead) {
  DeclareDlx();
  auto q = DeclareQueue("work");
  for (int i = 0; i < 5; ++i) Publish("", "work", "m" + std::to_string(i));
  Set("p", "^work$", Table({{"max-length", Long(2)}, {"dead-letter-exchange", Str("dlx")}}));
  EXPECT_EQ(q->ready_count(), 2u);
  EXPECT_EQ(Drain(*vh_->FindQueue("dlq")), (Names{"m0", "m1", "m2"}));
  EXPECT_EQ(Drain(*q), (Names{"m3", "m4"}));
}

TEST_F(PolicyTest, ClearingThePolicyRestoresTheDeclaredBehaviour) {
  auto q = DeclareQueue("work", Table({{"x-message-ttl", Long(10000)}}));
  Set("p", "^work$", Table({{"message-ttl", Long(1000)}, {"max-length", Long(1)}}));
  ASSERT_TRUE(vh_->ClearPolicy("p").ok());
  EXPECT_TRUE(vh_->policies().empty());
  EXPECT_EQ(q->policy_name(), "");
  EXPECT_EQ(q->options().args.message_ttl, 10000);
  EXPECT_EQ(q->options().args.max_length, std::nullopt);
  Publish("", "work", "a");
  Publish("", "work", "b");
  runtime_.Advance(1000);
  EXPECT_EQ(q->ready_count(), 2u);
  runtime_.Advance(9000);
  EXPECT_EQ(q->ready_count(), 0u);
}

TEST_F(PolicyTest, ClearingAPolicyThatIsNotThereIsNotFound) {
  Status s = vh_->ClearPolicy("nope");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kNotFound));
  EXPECT_EQ(s.error().text, "NOT_FOUND - policy 'nope' not found in vhost '/'");
}

TEST_F(PolicyTest, AnInvalidPolicyIsRefusedAndChangesNothing) {
  auto q = DeclareQueue("work");
  Status s = vh_->SetPolicy(MakePolicy("p", ".*", Table({{"max-length", Long(-1)}})));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
  EXPECT_TRUE(vh_->policies().empty());
  EXPECT_EQ(q->policy_name(), "");
}

TEST_F(PolicyTest, QueuesDeclaredLaterTakeThePolicyInEffect) {
  Set("low", ".*", Table({{"max-length", Long(10)}}), ApplyTo::kQueues, 0);
  Set("high", "^orders", Table({{"max-length", Long(1)}}), ApplyTo::kQueues, 1);
  Set("exchanges-only", ".*", Table({{"max-length", Long(5)}}), ApplyTo::kExchanges, 9);
  auto orders = DeclareQueue("orders.eu");
  auto other = DeclareQueue("other");
  EXPECT_EQ(orders->policy_name(), "high");
  EXPECT_EQ(orders->options().args.max_length, 1);
  EXPECT_EQ(other->policy_name(), "low");
  Publish("", "orders.eu", "a");
  Publish("", "orders.eu", "b");
  EXPECT_EQ(Drain(*orders), Names{"b"});
}

TEST_F(PolicyTest, ExpiresByPolicyDeletesAnUnusedQueue) {
  DeclareQueue("idle");
  Set("p", "^idle$", Table({{"expires", Long(1000)}}));
  runtime_.Advance(999);
  EXPECT_NE(vh_->FindQueue("idle"), nullptr);
  runtime_.Advance(1);
  runtime_.Advance(0);
  EXPECT_EQ(vh_->FindQueue("idle"), nullptr);
}

TEST_F(PolicyTest, OverflowByPolicyRejectsPublishesUnlessTheQueueSaysOtherwise) {
  auto q = DeclareQueue("work");
  auto declared = DeclareQueue("declared", Table({{"x-overflow", Str("drop-head")}}));
  Set("p", ".*", Table({{"max-length", Long(1)}, {"overflow", Str("reject-publish")}}));
  EXPECT_FALSE(Publish("", "work", "a").rejected);
  EXPECT_TRUE(Publish("", "work", "b").rejected);
  EXPECT_FALSE(Publish("", "declared", "a").rejected);
  EXPECT_FALSE(Publish("", "declared", "b").rejected);
  EXPECT_EQ(Drain(*declared), Names{"b"});
}

TEST_F(PolicyTest, AlternateExchangeByPolicyUnlessDeclared) {
  ASSERT_TRUE(DeclareExchange("ae", "fanout").ok());
  auto unrouted = DeclareQueue("unrouted");
  Bind("unrouted", "ae", "");
  ASSERT_TRUE(DeclareExchange("ae-declared", "fanout").ok());
  auto declared_q = DeclareQueue("declared-ae");
  Bind("declared-ae", "ae-declared", "");
  ASSERT_TRUE(DeclareExchange("x", "direct").ok());
  ASSERT_TRUE(
      DeclareExchange("y", "direct", Table({{"alternate-exchange", Str("ae-declared")}})).ok());
  Set("p", "^[xy]$", Table({{"alternate-exchange", Str("ae")}}), ApplyTo::kExchanges);
  EXPECT_EQ(vh_->FindExchange("x")->policy_name(), "p");
  EXPECT_EQ(vh_->FindExchange("x")->alternate_exchange(), "ae");
  EXPECT_EQ(vh_->FindExchange("y")->alternate_exchange(), "ae-declared");
  Publish("x", "nowhere", "via-policy");
  Publish("y", "nowhere", "via-argument");
  EXPECT_EQ(Drain(*unrouted), Names{"via-policy"});
  EXPECT_EQ(Drain(*declared_q), Names{"via-argument"});

  ASSERT_TRUE(vh_->ClearPolicy("p").ok());
  EXPECT_EQ(vh_->FindExchange("x")->alternate_exchange(), std::nullopt);
  EXPECT_EQ(vh_->FindExchange("x")->policy_name(), "");
  EXPECT_EQ(Publish("x", "nowhere", "dropped").routed, 0u);
}

TEST_F(PolicyTest, ExchangesDeclaredLaterTakeThePolicy) {
  ASSERT_TRUE(DeclareExchange("ae", "fanout").ok());
  Set("p", "^late$", Table({{"alternate-exchange", Str("ae")}}));
  ASSERT_TRUE(DeclareExchange("late", "topic").ok());
  EXPECT_EQ(vh_->FindExchange("late")->alternate_exchange(), "ae");
}

TEST_F(PolicyTest, MaxPriorityAndSingleActiveConsumerStayAsDeclared) {
  auto q = DeclareQueue(
      "work", Table({{"x-max-priority", Long(5)}, {"x-single-active-consumer", Bool(true)}}));
  Set("p", ".*", Table({{"max-length", Long(9)}}));
  EXPECT_EQ(q->options().args.max_priority, 5);
  EXPECT_TRUE(q->options().args.single_active_consumer);
  EXPECT_EQ(q->options().args.max_length, 9);
}

}  // namespace
}  // namespace warren::core::test
