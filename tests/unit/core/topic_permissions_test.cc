// Topic permissions and user limits in the model (docs/access.md): RabbitMQ's
// rules for which routing keys a user may publish and bind with, the
// variables a pattern may name, and the limits a user may be given.
#include <gtest/gtest.h>

#include "common/password.h"
#include "core/core_fixture.h"

namespace warren::core::test {
namespace {

class TopicPermissionsTest : public CoreTest {
 protected:
  TopicPermissionsTest() {
    EXPECT_TRUE(broker_.AddVHost("shop").ok());
    EXPECT_TRUE(broker_.AddUser("alice", HashPassword("s3cret"), {}).ok());
  }

  void Set(const std::string& exchange, const std::string& write, const std::string& read,
           const std::string& vhost = "/") {
    Status s = broker_.SetTopicPermission({"alice", vhost, exchange, write, read});
    ASSERT_TRUE(s.ok()) << s.error().text;
  }

  bool Write(const std::string& key, const std::string& exchange = "amq.topic",
             const std::string& vhost = "/") {
    return broker_.TopicAllowed("alice", vhost, exchange, Access::kWrite, key);
  }
  bool Read(const std::string& key, const std::string& exchange = "amq.topic") {
    return broker_.TopicAllowed("alice", "/", exchange, Access::kRead, key);
  }
};

TEST_F(TopicPermissionsTest, WithoutOneEveryKeyIsAllowed) {
  EXPECT_TRUE(Write("anything.at.all"));
  EXPECT_TRUE(Read(""));
  Set("other", "^nothing$", "^nothing$");
  EXPECT_TRUE(Write("anything")) << "another exchange's permission does not apply";
}

TEST_F(TopicPermissionsTest, WriteAndReadPatternsAreSearchedInTheKey) {
  Set("amq.topic", "^orders\\.", "eu");
  EXPECT_TRUE(Write("orders.created"));
  EXPECT_FALSE(Write("invoices.created"));
  EXPECT_FALSE(Write("x.orders.created")) << "anchored by the pattern, not by Warren";
  EXPECT_TRUE(Read("orders.eu.created")) << "unanchored: found anywhere in the key";
  EXPECT_FALSE(Read("orders.us"));
}

TEST_F(TopicPermissionsTest, AnEmptyPatternAllowsOnlyTheEmptyKey) {
  Set("amq.topic", "", ".*");
  EXPECT_FALSE(Write("a"));
  EXPECT_TRUE(Write(""));
  EXPECT_TRUE(Read("a"));
}

TEST_F(TopicPermissionsTest, UsernameAndVHostVariablesAreReplaced) {
  Set("amq.topic", "^{username}\\.", "^{vhost}-{username}$", "shop");
  EXPECT_TRUE(Write("alice.x", "amq.topic", "shop"));
  EXPECT_FALSE(Write("bob.x", "amq.topic", "shop"));
  EXPECT_FALSE(Write("{username}.x", "amq.topic", "shop"));
  EXPECT_TRUE(broker_.TopicAllowed("alice", "shop", "amq.topic", Access::kRead, "shop-alice"));
}

TEST_F(TopicPermissionsTest, SettingAgainReplacesAndClearingTakesOneOrAll) {
  Set("amq.topic", "^a", "^a");
  Set("amq.topic", "^b", "^b");
  Set("logs", "^c", "^c");
  EXPECT_FALSE(Write("a.1"));
  EXPECT_TRUE(Write("b.1"));
  broker_.ClearTopicPermissions("alice", "/", "logs", false);
  EXPECT_TRUE(Write("anything", "logs"));
  EXPECT_FALSE(Write("a.1")) << "only the one named went";
  Set("logs", "^c", "^c");
  broker_.ClearTopicPermissions("alice", "/", "", true);
  EXPECT_TRUE(broker_.topic_permissions().empty());
  EXPECT_TRUE(Write("a.1"));
}

TEST_F(TopicPermissionsTest, UnknownUserOrVHostIsNotFoundAndABadPatternIsRefused) {
  Status s = broker_.SetTopicPermission({"bob", "/", "amq.topic", ".*", ".*"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kNotFound));
  s = broker_.SetTopicPermission({"alice", "nope", "amq.topic", ".*", ".*"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kNotFound));
  s = broker_.SetTopicPermission({"alice", "/", "amq.topic", "(", ".*"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
  EXPECT_TRUE(broker_.topic_permissions().empty());
}

TEST_F(TopicPermissionsTest, TheyGoWithTheirUserAndWithTheirVHost) {
  Set("amq.topic", "^a", "^a");
  Set("amq.topic", "^a", "^a", "shop");
  ASSERT_TRUE(broker_.DeleteVHost("shop").ok());
  ASSERT_EQ(broker_.topic_permissions().at("alice").size(), 1u);
  ASSERT_TRUE(broker_.DeleteUser("alice").ok());
  EXPECT_TRUE(broker_.topic_permissions().empty());
}

TEST_F(TopicPermissionsTest, UserLimitsMergeClearAndSurviveAPutOfTheUser) {
  ASSERT_TRUE(broker_.SetUserLimits("alice", {{"max-connections", 2}}).ok());
  ASSERT_TRUE(broker_.SetUserLimits("alice", {{"max-channels", 5}}).ok());
  EXPECT_EQ(broker_.UserLimit("alice", kMaxConnections), 2);
  EXPECT_EQ(broker_.UserLimit("alice", kMaxChannels), 5);
  ASSERT_TRUE(broker_.AddUser("alice", HashPassword("new"), {"management"}).ok());
  EXPECT_EQ(broker_.FindUser("alice")->limits.size(), 2u) << "a user put again keeps its limits";
  ASSERT_TRUE(broker_.ClearUserLimits("alice", "max-connections", false).ok());
  EXPECT_EQ(broker_.UserLimit("alice", kMaxConnections), std::nullopt);
  EXPECT_EQ(broker_.UserLimit("alice", kMaxChannels), 5);
  ASSERT_TRUE(broker_.ClearUserLimits("alice", "", true).ok());
  EXPECT_TRUE(broker_.FindUser("alice")->limits.empty());
}

TEST_F(TopicPermissionsTest, ANegativeUserLimitIsNoLimitAndZeroIsOne) {
  ASSERT_TRUE(broker_.SetUserLimits("alice", {{"max-connections", -1}, {"max-channels", 0}})
                  .ok());
  EXPECT_EQ(broker_.UserLimit("alice", kMaxConnections), std::nullopt);
  EXPECT_EQ(broker_.UserLimit("alice", kMaxChannels), 0);
}

TEST_F(TopicPermissionsTest, UnknownLimitNamesAndUsersAreRefused) {
  Status s = broker_.SetUserLimits("alice", {{"max-connections", 1}, {"max-queues", 1}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
  EXPECT_NE(s.error().text.find("max-queues"), std::string::npos) << s.error().text;
  EXPECT_TRUE(broker_.FindUser("alice")->limits.empty()) << "nothing of a refused set is kept";
  s = broker_.SetUserLimits("bob", {{"max-connections", 1}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kNotFound));
}

}  // namespace
}  // namespace warren::core::test
