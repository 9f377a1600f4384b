// Cluster.Propose on a real gRPC port: a follower's command reaches the
// leader's handler only with the secret, the call stays open until the
// handler replies (from the node's loop, another thread), and the leader's
// outcome, index and term come back as given, refusals included.
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "broker/cluster/cluster_service.h"
#include "broker/cluster/handshake.h"
#include "broker/cluster/raft_driver.h"
#include "broker/cluster/secret.h"
#include "cluster/loopback_server.h"
#include "common/text.h"
#include "log_capture.h"
#include "warren/v1/cluster.grpc.pb.h"

namespace warren::cluster {
namespace {

// The leader's side: what its handler was given, and the replies it owes.
class Leader {
 public:
  ProposeHandler handler() {
    return [this](std::string command, std::function<void(ForwardResult)> reply) {
      std::lock_guard lock(mu_);
      commands_.push_back(std::move(command));
      replies_.push_back(std::move(reply));
      changed_.notify_all();
    };
  }
  // Waits (without a time limit: the test's own timeout bounds it) for the
  // next proposal, and answers it with `result`.
  std::string AnswerNext(const ForwardResult& result) {
    std::function<void(ForwardResult)> reply;
    std::string command;
    {
      std::unique_lock lock(mu_);
      changed_.wait(lock, [&] { return answered_ < replies_.size(); });
      reply = replies_[answered_];
      command = commands_[answered_];
      ++answered_;
    }
    reply(result);
    return command;
  }
  size_t received() {
    std::lock_guard lock(mu_);
    return commands_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::string> commands_;
  std::vector<std::function<void(ForwardResult)>> replies_;
  size_t answered_ = 0;
};

class ProposeServiceTest : public ::testing::Test {
 protected:
  void Serve(ProposeHandler handler) {
    service_ = MakeClusterService(secret_, "warren@leader", {.propose = std::move(handler)});
    testkit::LoopbackServer served = testkit::ServeOnLoopback(*service_);
    server_ = std::move(served.server);
    ASSERT_TRUE(server_ && served.port > 0);
    address_ = served.address();
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  // Proposes `command` from another thread (PeerClient blocks).
  struct Call {
    grpc::Status status;
    ForwardResult result;
    std::thread thread;
    ~Call() {
      if (thread.joinable()) thread.join();
    }
  };
  std::unique_ptr<Call> ProposeAsync(const std::string& command, const Secret& secret) {
    auto call = std::make_unique<Call>();
    call->thread = std::thread([this, command, secret, c = call.get()] {
      c->status = PeerClient(address_, secret, "warren@follower").Propose(command, c->result);
    });
    return call;
  }

  testkit::LogCapture log_;
  Secret secret_ = Secret::FromText("SHARED");
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

TEST_F(ProposeServiceTest, AForwardedCommandIsAnsweredWithTheLeadersOutcomeOnceItReplies) {
  Leader leader;
  Serve(leader.handler());
  auto call = ProposeAsync(std::string("\x01\x02 command", 10), secret_);
  core::Outcome applied{Status::Ok(), 3, 1};
  EXPECT_EQ(leader.AnswerNext({applied, 42, 7}), std::string("\x01\x02 command", 10));
  call->thread.join();
  ASSERT_TRUE(call->status.ok()) << call->status.error_message();
  EXPECT_TRUE(call->result.outcome.status.ok());
  EXPECT_EQ(call->result.index, 42u);
  EXPECT_EQ(call->result.term, 7u);
  EXPECT_EQ(call->result.outcome.message_count, 3u);
  EXPECT_EQ(call->result.outcome.consumer_count, 1u);
}

TEST_F(ProposeServiceTest, ARefusalAndANotCommittedAnswerComeBackWithTheirCodeAndText) {
  Leader leader;
  Serve(leader.handler());
  auto refused = ProposeAsync("declare", secret_);
  leader.AnswerNext({core::Outcome{Error{406, "PRECONDITION_FAILED - inequivalent arg"}}, 9, 2});
  refused->thread.join();
  ASSERT_TRUE(refused->status.ok());
  EXPECT_EQ(refused->result.outcome.status.error().code, 406);
  EXPECT_EQ(refused->result.outcome.status.error().text, "PRECONDITION_FAILED - inequivalent arg");
  EXPECT_EQ(refused->result.index, 9u);

  auto lost = ProposeAsync("declare", secret_);
  leader.AnswerNext({core::Outcome{NotCommitted("no majority answered in time")}, 0, 0});
  lost->thread.join();
  ASSERT_TRUE(lost->status.ok());
  EXPECT_EQ(lost->result.outcome.status.error().code, kNotCommitted);
  EXPECT_EQ(lost->result.outcome.status.error().text,
            "metadata change not committed: no majority answered in time");
  EXPECT_EQ(lost->result.index, 0u);
}

TEST_F(ProposeServiceTest, AProposeWithoutTheSecretNeverReachesTheHandler) {
  Leader leader;
  Serve(leader.handler());
  ForwardResult result;
  grpc::Status s = PeerClient(address_, Secret::FromText("OTHER"), "warren@mallory")
                       .Propose("declare", result);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  auto stub = v1::Cluster::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext context;  // no handshake at all
    v1::ProposeRequest request;
    request.set_command("declare");
    v1::ProposeResponse response;
    EXPECT_EQ(stub->Propose(&context, request, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    // A proof made for Ping does not serve for Propose.
    std::string mine(kChallengeSize, 'p');
    v1::HelloRequest hello;
    hello.set_challenge(mine);
    hello.set_from_node("warren@follower");
    v1::HelloResponse answer;
    grpc::ClientContext hello_context;
    ASSERT_TRUE(stub->Hello(&hello_context, hello, &answer).ok());
    std::string proof = secret_.Prove(ClientTranscript(mine, answer.challenge(), "warren@follower",
                                                       "warren@leader", kPingMethod));
    grpc::ClientContext context;
    context.AddMetadata(kSessionKey, ToHex(answer.challenge()));
    context.AddMetadata(kProofKey, ToHex(proof));
    v1::ProposeRequest request;
    v1::ProposeResponse response;
    EXPECT_EQ(stub->Propose(&context, request, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(leader.received(), 0u);
  EXPECT_NE(log_.text().find("cluster: refused /warren.v1.Cluster/Propose from"),
            std::string::npos)
      << log_.text();
}

TEST_F(ProposeServiceTest, ANodeThatRunsNoRaftGroupRefusesProposals) {
  Serve({});
  ForwardResult result;
  grpc::Status s = PeerClient(address_, secret_, "warren@follower").Propose("declare", result);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(s.error_message(), "warren@leader runs no Raft group");
}

}  // namespace
}  // namespace warren::cluster
