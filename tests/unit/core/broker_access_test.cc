// The Broker root: vhosts, users and passwords, permission checks as
// RabbitMQ makes them, loopback-only users, and the direct reply-to registry.
#include <gtest/gtest.h>

#include "common/password.h"
#include "core/core_fixture.h"

namespace warren::core::test {
namespace {

class BrokerAccessTest : public CoreTest {
 protected:
  BrokerAccessTest() {
    EXPECT_TRUE(broker_.AddVHost("other").ok());
    EXPECT_TRUE(broker_.AddUser("alice", HashPassword("s3cret"), {"management"}).ok());
  }

  void Grant(const std::string& configure, const std::string& write, const std::string& read,
             const std::string& vhost = "/") {
    Status s = broker_.SetPermissions("alice", vhost, configure, write, read);
    ASSERT_TRUE(s.ok()) << s.error().text;
  }

  bool Can(Access a, const std::string& resource, const std::string& vhost = "/") {
    return broker_.Allowed("alice", vhost, a, resource);
  }
};

TEST_F(BrokerAccessTest, AuthenticateAcceptsTheRightPasswordOnly) {
  const User* u = broker_.Authenticate("alice", "s3cret");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->name, "alice");
  EXPECT_EQ(u->tags, (std::vector<std::string>{"management"}));
  EXPECT_EQ(broker_.Authenticate("alice", "S3cret"), nullptr);
  EXPECT_EQ(broker_.Authenticate("alice", ""), nullptr);
  EXPECT_EQ(broker_.Authenticate("bob", "s3cret"), nullptr);
}

TEST_F(BrokerAccessTest, UserWithoutPasswordHashCannotAuthenticate) {
  ASSERT_TRUE(broker_.AddUser("nopass", "", {}).ok());
  EXPECT_EQ(broker_.Authenticate("nopass", ""), nullptr);
  EXPECT_EQ(broker_.Authenticate("nopass", "anything"), nullptr);
}

TEST_F(BrokerAccessTest, AddUserReplacesTheHashAndDeleteUserRemovesIt) {
  ASSERT_TRUE(broker_.AddUser("alice", HashPassword("new"), {}).ok());
  EXPECT_EQ(broker_.Authenticate("alice", "s3cret"), nullptr);
  EXPECT_NE(broker_.Authenticate("alice", "new"), nullptr);
  EXPECT_TRUE(broker_.DeleteUser("alice").ok());
  EXPECT_EQ(broker_.Authenticate("alice", "new"), nullptr);
  Status again = broker_.DeleteUser("alice");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Code(amqp::ReplyCode::kNotFound));
}

TEST_F(BrokerAccessTest, MatchAllPatternAllowsEverything) {
  Grant(".*", ".*", ".*");
  for (Access a : {Access::kConfigure, Access::kWrite, Access::kRead})
    for (const char* r : {"q", "amq.gen-abc", "x.y.z", ""}) EXPECT_TRUE(Can(a, r)) << r;
}

TEST_F(BrokerAccessTest, PatternsAreSearchedNotAnchored) {
  Grant("foo", "foo", "foo");
  EXPECT_TRUE(Can(Access::kConfigure, "foo"));
  EXPECT_TRUE(Can(Access::kConfigure, "xfoox"));
  EXPECT_TRUE(Can(Access::kConfigure, "bar.foo"));
  EXPECT_FALSE(Can(Access::kConfigure, "fo"));
}

TEST_F(BrokerAccessTest, CaretAnchorsAtTheStart) {
  Grant("^foo", "^foo", "^foo");
  EXPECT_TRUE(Can(Access::kWrite, "foo"));
  EXPECT_TRUE(Can(Access::kWrite, "foo.bar"));
  EXPECT_FALSE(Can(Access::kWrite, "barfoo"));
  EXPECT_FALSE(Can(Access::kWrite, "xfoo"));
}

TEST_F(BrokerAccessTest, EmptyPatternDeniesEverything) {
  Grant("", ".*", "");
  for (const char* r : {"q", "", "anything"}) {
    EXPECT_FALSE(Can(Access::kConfigure, r)) << r;
    EXPECT_FALSE(Can(Access::kRead, r)) << r;
    EXPECT_TRUE(Can(Access::kWrite, r)) << r;
  }
}

TEST_F(BrokerAccessTest, EachAccessKindUsesItsOwnPattern) {
  Grant("^cfg$", "^wr$", "^rd$");
  EXPECT_TRUE(Can(Access::kConfigure, "cfg"));
  EXPECT_FALSE(Can(Access::kConfigure, "wr"));
  EXPECT_TRUE(Can(Access::kWrite, "wr"));
  EXPECT_FALSE(Can(Access::kWrite, "rd"));
  EXPECT_TRUE(Can(Access::kRead, "rd"));
  EXPECT_FALSE(Can(Access::kRead, "cfg"));
}

TEST_F(BrokerAccessTest, DefaultExchangeIsCheckedAsAmqDefault) {
  Grant(".*", "^amq\\.default$", "^$");
  EXPECT_TRUE(Can(Access::kWrite, ""));
  EXPECT_TRUE(Can(Access::kWrite, "amq.default"));
  EXPECT_FALSE(Can(Access::kWrite, "q"));
  EXPECT_FALSE(Can(Access::kRead, "")) << "'' is looked up as amq.default, which ^$ misses";
}

TEST_F(BrokerAccessTest, PermissionsArePerVhost) {
  Grant(".*", ".*", ".*", "other");
  EXPECT_TRUE(Can(Access::kRead, "q", "other"));
  EXPECT_FALSE(Can(Access::kRead, "q", "/"));
  EXPECT_TRUE(broker_.CanAccessVHost("alice", "other"));
  EXPECT_FALSE(broker_.CanAccessVHost("alice", "/"));
  EXPECT_FALSE(broker_.Allowed("bob", "other", Access::kRead, "q"));
  broker_.ClearPermissions("alice", "other");
  EXPECT_FALSE(Can(Access::kRead, "q", "other"));
}

TEST_F(BrokerAccessTest, SetPermissionsWithAnInvalidRegexIs406AndChangesNothing) {
  Status first = broker_.SetPermissions("alice", "/", "(", ".*", ".*");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
  EXPECT_FALSE(broker_.CanAccessVHost("alice", "/")) << "a refused grant grants nothing";
  Grant("^ok$", "^ok$", "^ok$");
  Status s = broker_.SetPermissions("alice", "/", ".*", "(unclosed", ".*");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
  EXPECT_NE(s.error().text.find("(unclosed"), std::string::npos) << s.error().text;
  EXPECT_FALSE(Can(Access::kConfigure, "other")) << "the earlier grant stays";
  EXPECT_TRUE(Can(Access::kConfigure, "ok"));
}

TEST_F(BrokerAccessTest, SetPermissionsNeedsAKnownUserAndVhost) {
  Status no_user = broker_.SetPermissions("bob", "/", ".*", ".*", ".*");
  ASSERT_FALSE(no_user.ok());
  EXPECT_EQ(no_user.error().code, Code(amqp::ReplyCode::kNotFound));
  Status no_vhost = broker_.SetPermissions("alice", "nowhere", ".*", ".*", ".*");
  ASSERT_FALSE(no_vhost.ok());
  EXPECT_EQ(no_vhost.error().code, Code(amqp::ReplyCode::kNotFound));
}

TEST_F(BrokerAccessTest, CanAccessVHostNeedsAnyPermissionEntry) {
  EXPECT_FALSE(broker_.CanAccessVHost("alice", "/"));
  Grant("", "", "");
  EXPECT_TRUE(broker_.CanAccessVHost("alice", "/")) << "empty patterns still grant the vhost";
  broker_.ClearPermissions("alice", "/");
  EXPECT_FALSE(broker_.CanAccessVHost("alice", "/"));
}

TEST_F(BrokerAccessTest, DeletingAVhostOrUserDropsTheirPermissions) {
  Grant(".*", ".*", ".*", "other");
  ASSERT_TRUE(broker_.DeleteVHost("other").ok());
  EXPECT_EQ(broker_.FindVHost("other"), nullptr);
  EXPECT_FALSE(broker_.CanAccessVHost("alice", "other"));
  ASSERT_TRUE(broker_.AddVHost("other").ok());
  EXPECT_FALSE(broker_.CanAccessVHost("alice", "other")) << "a new vhost of the same name";
  Grant(".*", ".*", ".*");
  ASSERT_TRUE(broker_.DeleteUser("alice").ok());
  ASSERT_TRUE(broker_.AddUser("alice", HashPassword("x"), {}).ok());
  EXPECT_FALSE(broker_.CanAccessVHost("alice", "/"));
}

TEST_F(BrokerAccessTest, VhostManagement) {
  Status empty = broker_.AddVHost("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
  VHost* before = broker_.FindVHost("/");
  ASSERT_TRUE(broker_.AddVHost("/").ok());
  EXPECT_EQ(broker_.FindVHost("/"), before) << "adding an existing vhost keeps it";
  Status missing = broker_.DeleteVHost("ghost");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Code(amqp::ReplyCode::kNotFound));
}

TEST_F(BrokerAccessTest, DeletingAVhostCancelsConsumersOfItsQueues) {
  VHost* vh = broker_.FindVHost("other");
  QueueDeclare d;
  d.name = "q";
  ASSERT_TRUE(vh->DeclareQueue(d, kConn).ok());
  auto c = Consume(vh->FindQueue("q"), "c");
  ASSERT_TRUE(broker_.DeleteVHost("other").ok());
  EXPECT_EQ(sink_.cancelled, (Names{"c"}));
  EXPECT_TRUE(c->queue->deleted());
}

TEST_F(BrokerAccessTest, GuestIsLoopbackOnlyByDefault) {
  EXPECT_TRUE(broker_.IsLoopbackOnly("guest"));
  EXPECT_FALSE(broker_.IsLoopbackOnly("alice"));
  NodeConfig open;
  open.loopback_users = {};
  Broker relaxed(runtime_, open);
  EXPECT_FALSE(relaxed.IsLoopbackOnly("guest"));
  NodeConfig strict;
  strict.loopback_users = {"alice"};
  Broker other(runtime_, strict);
  EXPECT_TRUE(other.IsLoopbackOnly("alice"));
  EXPECT_FALSE(other.IsLoopbackOnly("guest"));
}

class NullReplySink : public DirectReplySink {
 public:
  void DeliverReply(const MessagePtr&) override {}
};

TEST_F(BrokerAccessTest, DirectReplyToRegistry) {
  NullReplySink a, b;
  std::string ka = broker_.RegisterReplyTo(&a);
  std::string kb = broker_.RegisterReplyTo(&b);
  EXPECT_EQ(ka.rfind("amq.rabbitmq.reply-to.", 0), 0u) << ka;
  EXPECT_GT(ka.size(), std::string("amq.rabbitmq.reply-to.").size());
  EXPECT_NE(ka, kb);
  EXPECT_EQ(broker_.FindReplyTo(ka), &a);
  EXPECT_EQ(broker_.FindReplyTo(kb), &b);
  EXPECT_EQ(broker_.FindReplyTo("amq.rabbitmq.reply-to.unknown"), nullptr);
  broker_.UnregisterReplyTo(ka);
  EXPECT_EQ(broker_.FindReplyTo(ka), nullptr);
  EXPECT_EQ(broker_.FindReplyTo(kb), &b);
}

TEST_F(BrokerAccessTest, AReplyToKeyNamesTheMemberThatGaveItOut) {
  NullReplySink a;
  broker_.set_self_member(3);
  std::string key = broker_.RegisterReplyTo(&a);
  EXPECT_EQ(ReplyToMember(key), 3u) << key;
  EXPECT_EQ(ReplyToMember("amq.rabbitmq.reply-to.12.abc.1"), 12u);
  // What a client may send instead names no member.
  for (const char* junk :
       {"amq.rabbitmq.reply-to", "amq.rabbitmq.reply-to.", "amq.rabbitmq.reply-to.7",
        "amq.rabbitmq.reply-to..x", "amq.rabbitmq.reply-to.x7.abc", "amq.rabbitmq.reply-to.-1.a",
        "amq.rabbitmq.reply-to.99999999999999999999.a", "amq.rabbitmq.reply-toX.2.a",
        "other.2.a", ""})
    EXPECT_EQ(ReplyToMember(junk), 0u) << junk;
}

TEST_F(BrokerAccessTest, ConnectionIdsAreUniqueAndNonZero) {
  uint64_t a = broker_.NextConnectionId();
  uint64_t b = broker_.NextConnectionId();
  EXPECT_NE(a, 0u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace warren::core::test
