// Broker: users, authentication, loopback users and permission checks.
#include "common/password.h"
#include "core/model_fixture.h"

namespace warren::core::model_test {
namespace {

class BrokerModelTest : public ModelTest {
 protected:
  BrokerModelTest() {
    EXPECT_TRUE(broker_.AddUser("alice", HashPassword("secret"), {"management"}).ok());
  }
  bool Can(Access a, const std::string& resource) {
    return broker_.Allowed("alice", "/", a, resource);
  }
};

TEST_F(BrokerModelTest, AuthenticateChecksPassword) {
  const User* u = broker_.Authenticate("alice", "secret");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->name, "alice");
  EXPECT_EQ(u->tags, Strings{"management"});
  EXPECT_EQ(broker_.Authenticate("alice", "Secret"), nullptr);
  EXPECT_EQ(broker_.Authenticate("alice", ""), nullptr);
  EXPECT_EQ(broker_.Authenticate("bob", "secret"), nullptr);
}

TEST_F(BrokerModelTest, UserWithoutPasswordHashCannotLogIn) {
  ASSERT_TRUE(broker_.AddUser("nopass", "", {}).ok());
  EXPECT_EQ(broker_.Authenticate("nopass", ""), nullptr);
}

TEST_F(BrokerModelTest, LoopbackOnlyFollowsConfig) {
  EXPECT_TRUE(broker_.IsLoopbackOnly("guest"));
  EXPECT_FALSE(broker_.IsLoopbackOnly("alice"));
  NodeConfig c;
  c.loopback_users = {};
  Broker open(rt_, c);
  EXPECT_FALSE(open.IsLoopbackOnly("guest"));
}

TEST_F(BrokerModelTest, NoPermissionsNoAccess) {
  EXPECT_FALSE(broker_.CanAccessVHost("alice", "/"));
  EXPECT_FALSE(Can(Access::kRead, "q"));
}

TEST_F(BrokerModelTest, PatternIsUnanchoredSearch) {
  ASSERT_TRUE(broker_.SetPermissions("alice", "/", "^app\\.", "log", ".*").ok());
  EXPECT_TRUE(broker_.CanAccessVHost("alice", "/"));
  EXPECT_TRUE(Can(Access::kConfigure, "app.queue"));
  EXPECT_FALSE(Can(Access::kConfigure, "my.app.queue"));  // anchored by the pattern
  EXPECT_TRUE(Can(Access::kWrite, "log"));
  EXPECT_TRUE(Can(Access::kWrite, "applogs"));  // search, not full match
  EXPECT_FALSE(Can(Access::kWrite, "lo"));
  EXPECT_TRUE(Can(Access::kRead, "anything"));
}

TEST_F(BrokerModelTest, EmptyPatternDenies) {
  ASSERT_TRUE(broker_.SetPermissions("alice", "/", "", ".*", "").ok());
  EXPECT_FALSE(Can(Access::kConfigure, "q"));
  EXPECT_FALSE(Can(Access::kConfigure, ""));
  EXPECT_TRUE(Can(Access::kWrite, "q"));
  EXPECT_FALSE(Can(Access::kRead, "q"));
}

TEST_F(BrokerModelTest, DefaultExchangeCheckedAsAmqDefault) {
  ASSERT_TRUE(broker_.SetPermissions("alice", "/", ".*", "^amq\\.default$", "^x$").ok());
  EXPECT_TRUE(Can(Access::kWrite, ""));
  EXPECT_TRUE(Can(Access::kWrite, "amq.default"));
  EXPECT_FALSE(Can(Access::kWrite, "amq.direct"));
  EXPECT_FALSE(Can(Access::kRead, ""));
}

TEST_F(BrokerModelTest, InvalidRegexIs406) {
  Status s = broker_.SetPermissions("alice", "/", "(", ".*", ".*");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, 406);
  EXPECT_FALSE(broker_.CanAccessVHost("alice", "/"));
  EXPECT_EQ(broker_.SetPermissions("alice", "/", ".*", "[", ".*").error().code, 406);
}

TEST_F(BrokerModelTest, SetPermissionsNeedsUserAndVHost) {
  EXPECT_EQ(broker_.SetPermissions("bob", "/", ".*", ".*", ".*").error().code, 404);
  EXPECT_EQ(broker_.SetPermissions("alice", "/nope", ".*", ".*", ".*").error().code, 404);
}

TEST_F(BrokerModelTest, PermissionsArePerVHost) {
  ASSERT_TRUE(broker_.AddVHost("other").ok());
  ASSERT_TRUE(broker_.SetPermissions("alice", "other", ".*", ".*", ".*").ok());
  EXPECT_FALSE(Can(Access::kRead, "q"));
  EXPECT_TRUE(broker_.Allowed("alice", "other", Access::kRead, "q"));
  broker_.ClearPermissions("alice", "other");
  EXPECT_FALSE(broker_.Allowed("alice", "other", Access::kRead, "q"));
}

TEST_F(BrokerModelTest, DeletingUserOrVHostDropsPermissions) {
  ASSERT_TRUE(broker_.AddVHost("v").ok());
  ASSERT_TRUE(broker_.SetPermissions("alice", "v", ".*", ".*", ".*").ok());
  ASSERT_TRUE(broker_.DeleteVHost("v").ok());
  ASSERT_TRUE(broker_.AddVHost("v").ok());
  EXPECT_FALSE(broker_.CanAccessVHost("alice", "v"));
  ASSERT_TRUE(broker_.SetPermissions("alice", "v", ".*", ".*", ".*").ok());
  ASSERT_TRUE(broker_.DeleteUser("alice").ok());
  EXPECT_FALSE(broker_.CanAccessVHost("alice", "v"));
  EXPECT_EQ(broker_.DeleteUser("alice").error().code, 404);
}

TEST_F(BrokerModelTest, VHostLifecycle) {
  EXPECT_EQ(broker_.AddVHost("").error().code, 406);
  VHost* before = broker_.FindVHost("/");
  ASSERT_TRUE(broker_.AddVHost("/").ok());  // idempotent
  EXPECT_EQ(broker_.FindVHost("/"), before);
  EXPECT_EQ(broker_.DeleteVHost("nope").error().code, 404);
}

TEST_F(BrokerModelTest, ReplyToRegistry) {
  struct NullReplySink : DirectReplySink {
    void DeliverReply(const MessagePtr&) override {}
  } sink;
  std::string k1 = broker_.RegisterReplyTo(&sink);
  std::string k2 = broker_.RegisterReplyTo(&sink);
  EXPECT_EQ(k1.rfind("amq.rabbitmq.reply-to.", 0), 0u);
  EXPECT_NE(k1, k2);
  EXPECT_EQ(broker_.FindReplyTo(k1), &sink);
  broker_.UnregisterReplyTo(k1);
  EXPECT_EQ(broker_.FindReplyTo(k1), nullptr);
  EXPECT_EQ(broker_.FindReplyTo(k2), &sink);
}

}  // namespace
}  // namespace warren::core::model_test
