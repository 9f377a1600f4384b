// Cluster.ChangeMembers on a real gRPC port (what join_cluster,
// forget_cluster_node and reset send): only a caller holding the secret
// reaches the handler, fields past their bounds are refused before it, and
// the handler's answer (id, members, a pointer to the leader, a refusal)
// comes back as given.
#include <atomic>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "broker/cluster/cluster_service.h"
#include "broker/cluster/membership.h"
#include "broker/cluster/secret.h"
#include "cluster/loopback_server.h"
#include "log_capture.h"
#include "warren/v1/cluster.grpc.pb.h"

namespace warren::cluster {
namespace {

class MembersServiceTest : public ::testing::Test {
 protected:
  // The handler answers every change with `answer`, there and then.
  void Serve(MembersResult answer) {
    MembersHandler handler = [this, answer](MembersChange change,
                                            std::function<void(MembersResult)> reply) {
      ++calls_;
      last_ = change;
      reply(answer);
    };
    service_ = MakeClusterService(secret_, "warren@leader", {.members = handler});
    testkit::LoopbackServer served = testkit::ServeOnLoopback(*service_);
    server_ = std::move(served.server);
    ASSERT_TRUE(server_ && served.port > 0);
    address_ = served.address();
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  grpc::Status Ask(const MembersChange& change, MembersResult& result,
                   const Secret& secret) {
    return PeerClient(address_, secret, "warren@joiner").ChangeMembers(change, result);
  }

  testkit::LogCapture log_;
  Secret secret_ = Secret::FromText("SHARED");
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::atomic<int> calls_{0};
  MembersChange last_;
};

TEST_F(MembersServiceTest, AJoinReachesTheHandlerAndItsAnswerComesBackAsGiven) {
  MembersResult answer;
  answer.id = 4;
  answer.members = {{1, "127.0.0.1:25671 warren@n1"}, {4, "127.0.0.1:25674 warren@n4"}};
  Serve(answer);
  MembersChange join{MembersChange::Kind::kAdd, "127.0.0.1:25674", "warren@n4", 0};
  MembersResult got;
  grpc::Status s = Ask(join, got, secret_);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(got.status.ok());
  EXPECT_EQ(got.id, 4u);
  EXPECT_EQ(got.members, answer.members);
  EXPECT_EQ(last_.address, "127.0.0.1:25674");
  EXPECT_EQ(last_.node, "warren@n4");
}

TEST_F(MembersServiceTest, ANonLeadersPointerAndARefusalComeBackWithTheirCodeAndText) {
  MembersResult answer;
  answer.status = Error{421, "this node does not lead the cluster"};
  answer.leader = "127.0.0.1:25671";
  Serve(answer);
  MembersResult got;
  ASSERT_TRUE(Ask({MembersChange::Kind::kRemove, "", "", 3}, got, secret_).ok());
  ASSERT_FALSE(got.status.ok());
  EXPECT_EQ(got.status.error().code, 421);
  EXPECT_EQ(got.status.error().text, "this node does not lead the cluster");
  EXPECT_EQ(got.leader, "127.0.0.1:25671");
  EXPECT_EQ(last_.kind, MembersChange::Kind::kRemove);
  EXPECT_EQ(last_.id, 3u);
}

TEST_F(MembersServiceTest, ACallerWithAnotherSecretNeverReachesTheHandler) {
  Serve({});
  MembersResult got;
  grpc::Status s = Ask({MembersChange::Kind::kRemove, "", "", 1}, got,
                       Secret::FromText("OTHER"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(MembersServiceTest, AnAddressOrNameTooLongIsRefusedBeforeTheHandler) {
  Serve({});
  MembersResult got;
  MembersChange long_address{MembersChange::Kind::kAdd, std::string(kMaxGrpcAddress + 1, 'a'),
                             "warren@n4", 0};
  EXPECT_EQ(Ask(long_address, got, secret_).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  MembersChange long_name{MembersChange::Kind::kAdd, "127.0.0.1:1", std::string(256, 'n'), 0};
  EXPECT_EQ(Ask(long_name, got, secret_).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(calls_.load(), 0);
}

}  // namespace
}  // namespace warren::cluster
