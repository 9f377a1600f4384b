// The node-to-node handshake: sessions, transcripts, and the Cluster service
// on a real gRPC port serving a peer that holds the secret and refusing one
// that does not, with a log line on each side.
#include "broker/cluster/handshake.h"

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "broker/cluster/cluster_service.h"
#include "broker/cluster/secret.h"
#include "cluster/loopback_server.h"
#include "common/text.h"
#include "log_capture.h"
#include "warren/v1/cluster.grpc.pb.h"

namespace warren::cluster {
namespace {

TEST(SessionTableTest, ASessionIsTakenOnceAndNotAfterItExpires) {
  SessionTable sessions(4, 1000);
  std::string a = sessions.Open("client-a", "warren@a", 0);
  std::string b = sessions.Open("client-b", "warren@b", 0);
  EXPECT_EQ(a.size(), kChallengeSize);
  EXPECT_NE(a, b);
  auto taken = sessions.Take(a, 1000);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->client_challenge, "client-a");
  EXPECT_EQ(taken->caller, "warren@a");
  EXPECT_FALSE(sessions.Take(a, 1000).has_value()) << "a session serves one call";
  EXPECT_FALSE(sessions.Take(b, 1001).has_value()) << "expired";
  EXPECT_EQ(sessions.size(), 0u);
}

TEST(SessionTableTest, CallersThatNeverComeBackCannotGrowTheTable) {
  SessionTable sessions(3, 1000);
  std::string first = sessions.Open("c", "n", 0);
  for (int i = 0; i < 100; ++i) sessions.Open("c", "n", 0);
  EXPECT_EQ(sessions.size(), 3u);
  EXPECT_FALSE(sessions.Take(first, 0).has_value()) << "the oldest is forgotten first";
}

TEST(TranscriptTest, FieldsCannotBeShiftedFromOneToAnotherNorRolesSwapped) {
  EXPECT_NE(ServerTranscript("ab", "c", "n1", "n2"), ServerTranscript("a", "bc", "n1", "n2"));
  EXPECT_NE(ClientTranscript("a", "b", "n1", "n2", "/m"), ClientTranscript("a", "b", "n1", "n2", "/n"));
  EXPECT_NE(ServerTranscript("a", "b", "n1", "n2").substr(0, 30),
            ClientTranscript("a", "b", "n1", "n2", "").substr(0, 30));
}

// A node's Cluster service alone on 127.0.0.1, port chosen by the kernel.
class ClusterServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = MakeClusterService(secret_, "warren@callee");
    testkit::LoopbackServer served = testkit::ServeOnLoopback(*service_);
    server_ = std::move(served.server);
    ASSERT_TRUE(server_ && served.port > 0);
    address_ = served.address();
    stub_ = v1::Cluster::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_->Shutdown(); }

  // A Hello made by hand: the session and the callee's answer.
  v1::HelloResponse Hello(const std::string& client_challenge, const std::string& caller) {
    v1::HelloRequest request;
    request.set_challenge(client_challenge);
    request.set_from_node(caller);
    v1::HelloResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(stub_->Hello(&context, request, &response).ok());
    return response;
  }
  // Ping with the given session and proof in the metadata.
  grpc::Status PingWith(const std::string& session, const std::string& proof) {
    grpc::ClientContext context;
    context.AddMetadata(kSessionKey, ToHex(session));
    context.AddMetadata(kProofKey, ToHex(proof));
    v1::PingResponse response;
    return stub_->Ping(&context, v1::PingRequest{}, &response);
  }

  testkit::LogCapture log_;
  Secret secret_ = Secret::FromText("SHARED");
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<v1::Cluster::Stub> stub_;
};

TEST_F(ClusterServiceTest, APeerHoldingTheSecretIsServed) {
  PeerClient peer(address_, Secret::FromText("SHARED"), "warren@caller");
  std::string node;
  grpc::Status s = peer.Ping(node);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(node, "warren@callee");
  ASSERT_TRUE(peer.Ping(node).ok()) << "each call makes its own session";
  EXPECT_EQ(log_.text().find("refused"), std::string::npos) << log_.text();
}

TEST_F(ClusterServiceTest, ACallerWithAnotherSecretRefusesTheCalleeAndSaysSo) {
  PeerClient peer(address_, Secret::FromText("OTHER"), "warren@caller");
  std::string node;
  grpc::Status s = peer.Ping(node);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(),
            "node warren@callee at " + address_ + " holds another cluster secret");
  EXPECT_NE(log_.text().find("[warning] cluster: refused node warren@callee at " + address_ +
                             ": it holds another cluster secret"),
            std::string::npos)
      << log_.text();
}

TEST_F(ClusterServiceTest, AProofMadeWithAnotherSecretIsRefusedAndLoggedByTheCallee) {
  std::string mine(kChallengeSize, 'c');
  v1::HelloResponse hello = Hello(mine, "warren@mallory");
  std::string proof = Secret::FromText("GUESS").Prove(
      ClientTranscript(mine, hello.challenge(), "warren@mallory", "warren@callee", kPingMethod));
  grpc::Status s = PingWith(hello.challenge(), proof);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "refused by warren@callee: it holds another cluster secret");
  EXPECT_NE(log_.text().find("(node warren@mallory): it holds another cluster secret"),
            std::string::npos)
      << log_.text();
}

TEST_F(ClusterServiceTest, NoHandshakeAReplayedSessionOrAProofForAnotherMethodIsRefused) {
  EXPECT_EQ(PingWith("", "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  {
    grpc::ClientContext context;  // no metadata at all
    v1::PingResponse response;
    EXPECT_EQ(stub_->Ping(&context, v1::PingRequest{}, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  std::string mine(kChallengeSize, 'r');
  v1::HelloResponse hello = Hello(mine, "warren@caller");
  std::string proof = secret_.Prove(
      ClientTranscript(mine, hello.challenge(), "warren@caller", "warren@callee", kPingMethod));
  EXPECT_TRUE(PingWith(hello.challenge(), proof).ok());
  grpc::Status replay = PingWith(hello.challenge(), proof);
  EXPECT_EQ(replay.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(replay.error_message(),
            "refused by warren@callee: unknown, used or expired cluster session");

  hello = Hello(mine, "warren@caller");
  std::string elsewhere = secret_.Prove(ClientTranscript(
      mine, hello.challenge(), "warren@caller", "warren@callee", "/warren.v1.Cluster/Other"));
  EXPECT_EQ(PingWith(hello.challenge(), elsewhere).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(ClusterServiceTest, AHelloWithoutAFullChallengeOrNodeNameIsInvalid) {
  for (auto [challenge, node] : {std::pair{std::string(31, 'x'), std::string("warren@a")},
                                 {std::string(kChallengeSize, 'x'), std::string()},
                                 {std::string(kChallengeSize, 'x'), std::string(256, 'n')}}) {
    v1::HelloRequest request;
    request.set_challenge(challenge);
    request.set_from_node(node);
    v1::HelloResponse response;
    grpc::ClientContext context;
    EXPECT_EQ(stub_->Hello(&context, request, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(ClusterServiceTest, AnUnreachablePeerIsUnavailableNotRefused) {
  server_->Shutdown();
  PeerClient peer(address_, secret_, "warren@caller", 2000);
  std::string node;
  grpc::StatusCode code = peer.Ping(node).error_code();
  EXPECT_TRUE(code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED)
      << code;
}

}  // namespace
}  // namespace warren::cluster
