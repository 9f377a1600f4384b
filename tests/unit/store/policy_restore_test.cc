// Policies across a restart: they come back, and the durable queues and
// exchanges restored with them have their policy in effect again.
#include "store/store_fixture.h"

namespace warren::store::test {
namespace {

core::Policy MakePolicy(const std::string& name, const std::string& pattern,
                        amqp::FieldTable definition,
                        core::ApplyTo apply_to = core::ApplyTo::kAll, int32_t priority = 0) {
  core::Policy p;
  p.name = name;
  p.pattern = pattern;
  p.apply_to = apply_to;
  p.priority = priority;
  p.definition = std::move(definition);
  return p;
}

TEST_F(StoreTest, PoliciesComeBackAndApplyToRestoredQueuesAndExchanges) {
  OpenNode();
  amqp::FieldTable limits;
  limits.Set("max-length", amqp::FieldValue::Long(2));
  limits.Set("message-ttl", amqp::FieldValue::Long(60000));
  ASSERT_TRUE(vhost().SetPolicy(MakePolicy("limits", "^dq$", limits, core::ApplyTo::kQueues, 7)).ok());
  amqp::FieldTable ae;
  ae.Set("alternate-exchange", amqp::FieldValue::Str("ae"));
  ASSERT_TRUE(vhost().SetPolicy(MakePolicy("ae", "^dx$", ae, core::ApplyTo::kExchanges)).ok());
  auto dq = DeclareQueue("dq", true);
  for (int i = 0; i < 4; ++i) Publish("dq", "m" + std::to_string(i));
  core::ExchangeDeclare dx{"dx", "direct", false, {}};
  dx.options.durable = true;
  ASSERT_TRUE(vhost().DeclareExchange(dx).ok());
  EXPECT_EQ(dq->ready_count(), 2u);  // m0 and m1 dropped from the head
  CloseNode();

  OpenNode();
  ASSERT_EQ(vhost().policies().size(), 2u);
  const core::Policy& p = vhost().policies().at("limits");
  EXPECT_EQ(p.pattern, "^dq$");
  EXPECT_EQ(p.apply_to, core::ApplyTo::kQueues);
  EXPECT_EQ(p.priority, 7);
  EXPECT_EQ(p.definition, limits);
  auto back = vhost().FindQueue("dq");
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->policy_name(), "limits");
  EXPECT_EQ(back->options().args.max_length, 2);
  EXPECT_EQ(back->options().args.message_ttl, 60000);
  EXPECT_EQ(vhost().FindExchange("dx")->alternate_exchange(), "ae");
  Publish("dq", "m4");  // the restored limit trims again
  EXPECT_EQ(Drain(*back), (std::vector<std::string>{"m3", "m4"}));
}

TEST_F(StoreTest, AClearedPolicyStaysCleared) {
  OpenNode();
  amqp::FieldTable def;
  def.Set("max-length", amqp::FieldValue::Long(1));
  ASSERT_TRUE(vhost().SetPolicy(MakePolicy("p", ".*", def)).ok());
  DeclareQueue("dq", true);
  ASSERT_TRUE(vhost().ClearPolicy("p").ok());
  CloseNode();

  OpenNode();
  EXPECT_TRUE(vhost().policies().empty());
  auto back = vhost().FindQueue("dq");
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->policy_name(), "");
  EXPECT_EQ(back->options().args.max_length, std::nullopt);
}

TEST_F(StoreTest, APolicyInTheStoreAppliesToTheMessagesThatComeBack) {
  OpenNode();
  DeclareQueue("dq", true);
  DeclareQueue("kept", true);
  Publish("dq", "expired");
  Publish("kept", "kept");
  CloseNode();
  {
    // Written while the node is down, as a replicated definition might be.
    DefinitionsLog log;
    bool fresh = false;
    ASSERT_TRUE(log.Open(dir_.string(), (dir_ / "damaged").string(), fresh).ok());
    amqp::FieldTable def;
    def.Set("message-ttl", amqp::FieldValue::Long(0));
    log.PutPolicy({"/", "ttl", "^dq$", core::ApplyTo::kQueues, 0, def});
  }

  OpenNode();
  auto dq = vhost().FindQueue("dq");
  ASSERT_NE(dq, nullptr);
  EXPECT_EQ(dq->policy_name(), "ttl");
  EXPECT_EQ(Drain(*dq), std::vector<std::string>{});
  EXPECT_EQ(Drain(*vhost().FindQueue("kept")), std::vector<std::string>{"kept"});
}

}  // namespace
}  // namespace warren::store::test
