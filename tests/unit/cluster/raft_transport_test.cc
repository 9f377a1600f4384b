// Raft messages between two nodes' Cluster services over loopback gRPC:
// delivered in order with the sender's name, only from a node that holds
// the secret, and again once a restarted peer is back.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>
#include <gtest/gtest.h>

#include "broker/cluster/cluster_service.h"
#include "broker/cluster/secret.h"
#include "cluster/loopback_server.h"
#include "log_capture.h"

namespace warren::cluster {
namespace {

using std::chrono::seconds;

// What a node's RaftInbox received, for the test thread to wait on.
class Mailbox {
 public:
  RaftInbox inbox() {
    return [this](const std::string& from, std::string message) {
      std::lock_guard lock(mu_);
      got_.emplace_back(from, std::move(message));
      changed_.notify_all();
    };
  }
  // True once `count` messages are in, within `limit`.
  bool WaitFor(size_t count, seconds limit) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, limit, [&] { return got_.size() >= count; });
  }
  std::vector<std::pair<std::string, std::string>> got() {
    std::lock_guard lock(mu_);
    return got_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::pair<std::string, std::string>> got_;
};

// Node "warren@b": its Cluster service on 127.0.0.1 (`port` 0: any free one).
class Receiver {
 public:
  Receiver(const Secret& secret, Mailbox& mailbox, int port = 0)
      : service_(MakeClusterService(secret, "warren@b", {.inbox = mailbox.inbox()})) {
    testkit::LoopbackServer served = testkit::ServeOnLoopback(*service_, port);
    server_ = std::move(served.server);
    port_ = served.port;
  }
  ~Receiver() { server_->Shutdown(std::chrono::system_clock::now()); }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// True once the captured log holds `text`, within `limit`.
bool WaitForLog(testkit::LogCapture& log, const std::string& text, seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (log.text().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition
  }
  return true;
}

TEST(RaftTransportTest, MessagesArriveInOrderNamingTheSender) {
  Secret secret = Secret::FromText("SHARED");
  Mailbox mailbox;
  Receiver b(secret, mailbox);
  ASSERT_GT(b.port(), 0);
  RaftSender to_b(b.address(), secret, "warren@a");
  for (int i = 0; i < 5000; ++i) {
    to_b.Send("m" + std::to_string(i));
    if (i % 1000 == 999) {
      ASSERT_TRUE(mailbox.WaitFor(static_cast<size_t>(i + 1), seconds(20)));
    }
  }
  std::vector<std::pair<std::string, std::string>> got = mailbox.got();
  ASSERT_EQ(got.size(), 5000u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, "warren@a");
    ASSERT_EQ(got[i].second, "m" + std::to_string(i));
  }
  EXPECT_EQ(to_b.dropped(), 0u);
}

TEST(RaftTransportTest, ASenderWithAnotherSecretDeliversNothingAndSaysWhy) {
  testkit::LogCapture log;
  Mailbox mailbox;
  Receiver b(Secret::FromText("SHARED"), mailbox);
  RaftSender to_b(b.address(), Secret::FromText("OTHER"), "warren@a");
  to_b.Send("vote for me");
  ASSERT_TRUE(WaitForLog(log, "cluster: refused node warren@b at " + b.address() +
                                   ": it holds another cluster secret",
                         seconds(20)))
      << log.text();
  EXPECT_TRUE(mailbox.got().empty());
}

TEST(RaftTransportTest, AfterThePeerRestartsLaterMessagesArrive) {
  Secret secret = Secret::FromText("SHARED");
  Mailbox before, after;
  auto b = std::make_unique<Receiver>(secret, before);
  int port = b->port();
  RaftSender to_b(b->address(), secret, "warren@a");
  to_b.Send("first");
  ASSERT_TRUE(before.WaitFor(1, seconds(20)));
  b.reset();
  b = std::make_unique<Receiver>(secret, after, port);
  ASSERT_EQ(b->port(), port);
  // The first sends after the restart may go down with the old stream;
  // Raft sends again, and so does this test, until one arrives.
  auto deadline = std::chrono::steady_clock::now() + seconds(30);
  for (int i = 0; !after.WaitFor(1, seconds(1)); ++i) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "nothing reached the restarted peer";
    to_b.Send("again " + std::to_string(i));
  }
  EXPECT_EQ(after.got().front().first, "warren@a");
}

}  // namespace
}  // namespace warren::cluster
