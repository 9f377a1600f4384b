// Runtime parameters, vhost limits, vhost metadata and operator policies
// (docs/parameters.md), through the commands every node applies.
#include "broker/core/parameters.h"

#include "amqp/constants.h"
#include "broker/core/command.h"
#include "core/core_fixture.h"

namespace warren::core::test {
namespace {

using amqp::FieldValue;

class ParametersTest : public CoreTest {
 protected:
  Outcome Run(Command c) { return Apply(broker_, c); }

  // The error text of a refused command (and its code must be `code`).
  std::string Refusal(Command c, amqp::ReplyCode code) {
    Outcome o = Run(std::move(c));
    if (o.status.ok()) return "<accepted>";
    EXPECT_EQ(o.status.error().code, Code(code));
    return o.status.error().text;
  }

  static Command Limits(const std::string& vhost, const std::string& json) {
    return cmd::SetParameter{"vhost-limits", vhost, "limits", json};
  }

  static Command OperatorPolicy(amqp::FieldTable definition, std::string pattern = ".*") {
    return cmd::SetPolicy{"/", "cap", std::move(pattern), ApplyTo::kQueues, 0,
                          std::move(definition), true};
  }
};

TEST_F(ParametersTest, OnlyTheVHostLimitsComponentIsKnown) {
  EXPECT_EQ(Refusal(cmd::SetParameter{"shovel", "/", "s", "{}"},
                    amqp::ReplyCode::kPreconditionFailed),
            "PRECONDITION_FAILED - Validation failed\n\ncomponent shovel not found");
  EXPECT_TRUE(broker_.parameters().empty());
}

TEST_F(ParametersTest, VHostLimitsAreValidatedAsRabbitMqValidatesThem) {
  auto why = [&](const std::string& json) {
    return Refusal(Limits("/", json), amqp::ReplyCode::kPreconditionFailed);
  };
  EXPECT_EQ(why(R"({"max-queues":"ten"})"),
            "PRECONDITION_FAILED - Validation failed\n\nmax-queues should be a number, actually "
            "was \"ten\"");
  EXPECT_EQ(why(R"({"max-channels":1})"),
            "PRECONDITION_FAILED - Validation failed\n\nUnrecognised terms [\"max-channels\"] in "
            "limits");
  EXPECT_EQ(why("[1]"), "PRECONDITION_FAILED - Validation failed\n\nlimits not a list [1]");
  EXPECT_EQ(why("{"), "PRECONDITION_FAILED - Validation failed\n\nthe value is not JSON (or "
                      "nests too deep)");
  EXPECT_EQ(why(std::string(200, '[') + std::string(200, ']')),
            "PRECONDITION_FAILED - Validation failed\n\nthe value is not JSON (or nests too deep)");
  EXPECT_EQ(Refusal(cmd::SetParameter{"vhost-limits", "/", "other", "{}"},
                    amqp::ReplyCode::kPreconditionFailed),
            "PRECONDITION_FAILED - Validation failed\n\nvhost-limits are set under the name limits");
  EXPECT_EQ(Refusal(Limits("nowhere", "{}"), amqp::ReplyCode::kNotFound),
            "NOT_FOUND - no vhost 'nowhere'");
}

TEST_F(ParametersTest, AQueueLimitRefusesNewQueuesOnlyAndANegativeOneLiftsIt) {
  DeclareQueue("a");
  DeclareQueue("b");
  // Below what the vhost holds already: accepted, and nothing is removed.
  ASSERT_TRUE(Run(Limits("/", R"({"max-queues":1})")).status.ok());
  EXPECT_EQ(vh_->queues().size(), 2u);
  auto refused = TryDeclare("c");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
  EXPECT_EQ(refused.error().text,
            "PRECONDITION_FAILED - cannot declare queue 'c': queue limit in vhost '/' (1) is "
            "reached");
  EXPECT_TRUE(TryDeclare("a").ok()) << "declaring a queue that exists is no new queue";
  ASSERT_TRUE(Run(Limits("/", R"({"max-queues":-1})")).status.ok());
  EXPECT_TRUE(TryDeclare("c").ok());
  ASSERT_TRUE(Run(Limits("/", R"({"max-queues":0})")).status.ok());
  EXPECT_FALSE(TryDeclare("d").ok());
  ASSERT_TRUE(Run(cmd::ClearParameter{"vhost-limits", "/", "limits"}).status.ok());
  EXPECT_EQ(vh_->limits(), VHostLimits{});
  EXPECT_TRUE(TryDeclare("d").ok());
  EXPECT_EQ(Refusal(cmd::ClearParameter{"vhost-limits", "/", "limits"},
                    amqp::ReplyCode::kNotFound),
            "NOT_FOUND - Parameter does not exist");
}

TEST_F(ParametersTest, LimitsSetBeforeAVHostExistsAgainApplyAndGoWithTheVHost) {
  ASSERT_TRUE(Run(cmd::AddVHost{"shop"}).status.ok());
  ASSERT_TRUE(Run(Limits("shop", R"({"max-connections":2,"max-queues":5})")).status.ok());
  EXPECT_EQ(broker_.FindVHost("shop")->limits(), (VHostLimits{2, 5}));
  ASSERT_TRUE(Run(cmd::DeleteVHost{"shop"}).status.ok());
  EXPECT_TRUE(broker_.parameters().empty()) << "a vhost's parameters go with it";
  ASSERT_TRUE(Run(cmd::AddVHost{"shop"}).status.ok());
  EXPECT_EQ(broker_.FindVHost("shop")->limits(), VHostLimits{});
}

TEST_F(ParametersTest, GlobalParametersTakeAnyJsonAndTheClusterIdIsSetOnce) {
  ASSERT_TRUE(Run(cmd::SetParameter{"", "", "anything", R"({"a":[1,2.5,null]})"}).status.ok());
  EXPECT_EQ(*broker_.FindParameter({"", "", "anything"}), R"({"a":[1,2.5,null]})");
  EXPECT_EQ(Refusal(cmd::SetParameter{"", "", "cluster_name", "42"},
                    amqp::ReplyCode::kPreconditionFailed),
            "PRECONDITION_FAILED - Validation failed\n\ncluster_name should be a non-empty "
            "string, actually was 42");
  EXPECT_EQ(broker_.ClusterName(), config_.node_name) << "unset: this node's name";
  ASSERT_TRUE(Run(cmd::SetParameter{"", "", "cluster_name", R"("shop \u00e9")"}).status.ok());
  EXPECT_EQ(broker_.ClusterName(), "shop \xc3\xa9");

  EXPECT_EQ(broker_.ClusterId(), "");
  std::string first = NewClusterId(), second = NewClusterId();
  EXPECT_NE(first, second);
  EXPECT_EQ(first.rfind("rabbitmq-cluster-id-", 0), 0u);
  EXPECT_EQ(first.size(), std::string("rabbitmq-cluster-id-").size() + 22);
  auto seed = [&](const std::string& id) {
    return Run(cmd::SetParameter{"", "", "internal_cluster_id", "\"" + id + "\"", true});
  };
  ASSERT_TRUE(seed(first).status.ok());
  ASSERT_TRUE(seed(second).status.ok());
  EXPECT_EQ(broker_.ClusterId(), first) << "the first applied wins";
}

TEST_F(ParametersTest, VHostMetadataIsKeptReplacedOnlyByAnUpdateAndChecked) {
  VHostMetadata meta{"orders", {"prod", "eu"}, "quorum", true};
  ASSERT_TRUE(Run(cmd::AddVHost{"shop", meta}).status.ok());
  EXPECT_EQ(broker_.FindVHost("shop")->metadata(), meta);
  ASSERT_TRUE(Run(cmd::AddVHost{"shop", VHostMetadata{"ignored"}}).status.ok());
  EXPECT_EQ(broker_.FindVHost("shop")->metadata(), meta) << "an add of an existing vhost";
  VHostMetadata changed{"orders, EU", {}, "classic", false};
  ASSERT_TRUE(Run(cmd::AddVHost{"shop", changed, true}).status.ok());
  EXPECT_EQ(broker_.FindVHost("shop")->metadata(), changed);
  EXPECT_EQ(Refusal(cmd::AddVHost{"other", VHostMetadata{"", {}, "stream"}},
                    amqp::ReplyCode::kPreconditionFailed),
            "PRECONDITION_FAILED - default queue type 'stream' is none of classic and quorum");
  EXPECT_EQ(broker_.FindVHost("other"), nullptr);
}

TEST_F(ParametersTest, TheCreatorOfAVHostGetsFullPermissionsOnlyWhenItCreatesIt) {
  ASSERT_TRUE(broker_.AddUser("alice", "", {}).ok());
  ASSERT_TRUE(Run(cmd::AddVHost{.name = "shop", .grant_user = "alice"}).status.ok());
  EXPECT_TRUE(broker_.Allowed("alice", "shop", Access::kConfigure, "anything"));
  ASSERT_TRUE(broker_.AddUser("bob", "", {}).ok());
  ASSERT_TRUE(Run(cmd::AddVHost{.name = "shop", .update = true, .grant_user = "bob"}).status.ok());
  EXPECT_FALSE(broker_.CanAccessVHost("bob", "shop")) << "an update grants nothing";
  ASSERT_TRUE(Run(cmd::AddVHost{.name = "v2", .grant_user = "nobody"}).status.ok())
      << "a creator that is no user (a tool's internal name) gets nothing";
}

TEST_F(ParametersTest, AnOperatorPolicyCapsTheUserPolicyAndTheQueuesArguments) {
  auto q = DeclareQueue("work", Table({{"x-max-length", Long(50)}}));
  ASSERT_TRUE(vh_->SetPolicy({"/", "p", "^work$", ApplyTo::kQueues, 0,
                              Table({{"max-length", Long(20)}, {"message-ttl", Long(1000)}}),
                              {}})
                  .ok());
  EXPECT_EQ(q->options().args.max_length, 20);
  ASSERT_TRUE(Run(OperatorPolicy(Table({{"max-length", Long(5)},
                                        {"message-ttl", Long(60000)},
                                        {"overflow", Str("reject-publish")}})))
                  .status.ok());
  EXPECT_EQ(q->policy_name(), "p");
  EXPECT_EQ(q->operator_policy_name(), "cap");
  EXPECT_EQ(q->options().args.max_length, 5) << "the smaller of the two policies";
  EXPECT_EQ(q->options().args.message_ttl, 1000) << "the user policy's is smaller";
  EXPECT_EQ(q->options().args.overflow, Overflow::kRejectPublish) << "the operator's";
  amqp::FieldTable merged = MergeOperatorPolicy(vh_->PolicyOf(*q), vh_->OperatorPolicyOf(*q));
  EXPECT_EQ(merged.Find("max-length")->AsInt(), 5);
  EXPECT_EQ(merged.Find("message-ttl")->AsInt(), 1000);
  for (int i = 0; i < 7; ++i) Publish("", "work", "m" + std::to_string(i));
  EXPECT_EQ(q->ready_count(), 5u);
  ASSERT_TRUE(Run(cmd::ClearPolicy{"/", "cap", true}).status.ok());
  EXPECT_EQ(q->operator_policy_name(), "");
  EXPECT_EQ(q->options().args.max_length, 20);
}

TEST_F(ParametersTest, AnOperatorPolicyAloneAppliesToAQueueDeclaredLater) {
  ASSERT_TRUE(Run(OperatorPolicy(Table({{"expires", Long(60000)}}), "^tmp")).status.ok());
  auto q = DeclareQueue("tmp.1");
  EXPECT_EQ(q->policy_name(), "");
  EXPECT_EQ(q->operator_policy_name(), "cap");
  EXPECT_EQ(q->options().args.expires, 60000);
  EXPECT_EQ(DeclareQueue("other")->operator_policy_name(), "");
}

TEST_F(ParametersTest, AnOperatorPolicyTakesOnlyTheKeysOperatorsMaySet) {
  EXPECT_EQ(Refusal(OperatorPolicy(Table({{"dead-letter-exchange", Str("dlx")},
                                          {"max-length", Long(1)}})),
                    amqp::ReplyCode::kPreconditionFailed),
            "PRECONDITION_FAILED - Validation failed: [<<\"dead-letter-exchange\">>] are not "
            "recognised operator policy settings");
  EXPECT_EQ(Refusal(OperatorPolicy(Table({{"max-length", Long(-1)}})),
                    amqp::ReplyCode::kPreconditionFailed),
            "PRECONDITION_FAILED - Validation failed: max-length: -1 is not a valid maximum "
            "length");
  EXPECT_TRUE(vh_->operator_policies().empty());
  EXPECT_EQ(Refusal(cmd::ClearPolicy{"/", "cap", true}, amqp::ReplyCode::kNotFound),
            "NOT_FOUND - operator policy 'cap' not found in vhost '/'");
}

}  // namespace
}  // namespace warren::core::test
