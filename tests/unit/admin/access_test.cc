// Who may see and do what through the Admin service: the monitoring tag
// sees every connection and channel, guest stays on loopback also behind
// warren-mgmt, and patterns from policies and permissions cannot stall
// the node whatever name a client picks.
#include <string>

#include "admin/admin_fixture.h"
#include "protocol/frame_harness.h"

namespace warren::admin_test {
namespace {

using protocol_test::Login;
using protocol_test::RawClient;

class AccessTest : public ::testing::Test {
 protected:
  void AddUser(const std::string& name, const std::string& tag) {
    v1::AddUserRequest u;
    u.set_name(name);
    u.set_password(name);
    v1::Empty e;
    ASSERT_TRUE(node_.stub().AddUser(AdminNode::Guest().get(), u, &e).ok());
    v1::SetUserTagsRequest t;
    t.set_name(name);
    if (!tag.empty()) t.add_tags(tag);
    ASSERT_TRUE(node_.stub().SetUserTags(AdminNode::Guest().get(), t, &e).ok());
    v1::Permission p;
    p.set_user(name);
    p.set_vhost("/");
    p.set_configure(".*");
    p.set_write(".*");
    p.set_read(".*");
    ASSERT_TRUE(node_.stub().SetPermissions(AdminNode::Guest().get(), p, &e).ok());
  }
  // An AMQP login as a user AddUser made, with channel 1 open.
  void LogIn(RawClient& c, const std::string& user) {
    Login login;
    login.user = user;
    login.pass = user;
    ASSERT_TRUE(c.Handshake(login));
    ASSERT_TRUE(c.OpenChannel(1));
  }
  AdminNode node_;
};

TEST_F(AccessTest, MonitoringSeesEveryConnectionAndChannel) {
  AddUser("app", "");
  AddUser("watcher", "monitoring");
  AddUser("manager", "management");
  RawClient c(node_.amqp_port());
  ASSERT_NO_FATAL_FAILURE(LogIn(c, "app"));

  v1::ListRequest all;
  all.set_all_vhosts(true);
  v1::ListConnectionsResponse connections;
  v1::ListChannelsResponse channels;
  auto watcher = [] { return AdminNode::As("watcher", "watcher"); };
  ASSERT_TRUE(node_.stub().ListConnections(watcher().get(), all, &connections).ok());
  ASSERT_EQ(connections.connections_size(), 1);
  EXPECT_EQ(connections.connections(0).user(), "app");
  ASSERT_TRUE(node_.stub().ListChannels(watcher().get(), all, &channels).ok());
  ASSERT_EQ(channels.channels_size(), 1);
  EXPECT_EQ(channels.channels(0).user(), "app");

  // management sees only its own.
  connections.Clear();
  auto manager = AdminNode::As("manager", "manager");
  ASSERT_TRUE(node_.stub().ListConnections(manager.get(), all, &connections).ok());
  EXPECT_EQ(connections.connections_size(), 0);
  ASSERT_TRUE(c.Close());
}

TEST_F(AccessTest, GuestStaysOnLoopbackBehindTheManagementApi) {
  v1::User me;
  for (const char* address : {"127.0.0.1", "::1", "::ffff:127.0.0.5", "[::1]"}) {
    grpc::Status s = node_.stub().WhoAmI(AdminNode::As("guest", "guest", address).get(),
                                         v1::Empty(), &me);
    EXPECT_TRUE(s.ok()) << address << ": " << s.error_message();
  }
  for (const char* address : {"10.1.2.3", "2001:db8::1", "::ffff:10.0.0.1", "garbage"}) {
    grpc::Status s = node_.stub().WhoAmI(AdminNode::As("guest", "guest", address).get(),
                                         v1::Empty(), &me);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << address;
    EXPECT_NE(s.error_message().find("can only connect via localhost"), std::string::npos)
        << s.error_message();
  }
  // Other users are not bound to loopback.
  AddUser("remote", "management");
  EXPECT_TRUE(
      node_.stub().WhoAmI(AdminNode::As("remote", "remote", "10.1.2.3").get(), v1::Empty(), &me)
          .ok());
}

// "(a*)*b" against a name of 255 'a's backtracks for longer than the
// universe has existed, unless the search is bounded.
TEST_F(AccessTest, HostilePatternsCannotStallTheNode) {
  const std::string evil = "(a*)*b";
  const std::string name(255, 'a');
  v1::Policy policy;
  policy.set_name("slow");
  policy.set_pattern(evil);
  policy.set_definition(R"({"max-length":10})");
  v1::Empty e;
  ASSERT_TRUE(node_.stub().SetPolicy(AdminNode::Guest().get(), policy, &e).ok());
  AddUser("app", "");
  v1::Permission p;
  p.set_user("app");
  p.set_vhost("/");
  p.set_configure(evil);
  p.set_write(evil);
  p.set_read(evil);
  ASSERT_TRUE(node_.stub().SetPermissions(AdminNode::Guest().get(), p, &e).ok());

  RawClient c(node_.amqp_port());
  ASSERT_NO_FATAL_FAILURE(LogIn(c, "app"));
  amqp::QueueDeclare d;
  d.queue = name;
  c.SendMethod(1, d);
  auto closed = c.Expect<amqp::ChannelClose>(1);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->reply_code, 403);  // the pattern does not match: refused, at once

  // guest may: the policy's pattern is searched in the new queue's name.
  v1::DeclareQueueRequest q;
  q.set_name(name);
  v1::DeclareResponse out;
  ASSERT_TRUE(node_.stub().DeclareQueue(AdminNode::Guest().get(), q, &out).ok());
  v1::ListRequest all;
  all.set_all_vhosts(true);
  v1::ListQueuesResponse queues;
  ASSERT_TRUE(node_.stub().ListQueues(AdminNode::Guest().get(), all, &queues).ok());
  ASSERT_EQ(queues.queues_size(), 1);
  EXPECT_EQ(queues.queues(0).policy(), "");

  // An invalid pattern is an error, not a crash.
  policy.set_pattern("(unclosed");
  EXPECT_EQ(node_.stub().SetPolicy(AdminNode::Guest().get(), policy, &e).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace warren::admin_test
