// Raft messages between two nodes' Cluster services over loopback gRPC:
// delivered in order with the sender's name, a peer's next batch read only
// once the last was handled, only from a node that holds the secret, and
// again once a restarted peer is back.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
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
    return [this](const std::string& from, std::vector<std::string> messages,
                  std::function<void()> handled) {
      std::lock_guard lock(mu_);
      for (std::string& m : messages) got_.emplace_back(from, std::move(m));
      changed_.notify_all();
      handled();
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

// An inbox whose batches wait for the test thread to handle them, one at
// a time, as a busy loop would.
class HeldMailbox {
 public:
  RaftInbox inbox() {
    return [this](const std::string&, std::vector<std::string> messages,
                  std::function<void()> handled) {
      std::lock_guard lock(mu_);
      waiting_.push_back({messages.size(), std::move(handled)});
      most_waiting_ = std::max(most_waiting_, waiting_.size());
      changed_.notify_all();
    };
  }
  // Handles batches as they come until `count` messages are in, within
  // `limit` per batch; the number of batches handled, 0 on a timeout.
  size_t HandleUntil(size_t count, seconds limit) {
    size_t got = 0, batches = 0;
    while (got < count) {
      std::unique_lock lock(mu_);
      if (!changed_.wait_for(lock, limit, [&] { return !waiting_.empty(); })) return 0;
      auto [size, handled] = std::move(waiting_.front());
      waiting_.pop_front();
      lock.unlock();
      got += size;
      ++batches;
      handled();
    }
    return batches;
  }
  size_t most_waiting() {
    std::lock_guard lock(mu_);
    return most_waiting_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::pair<size_t, std::function<void()>>> waiting_;
  size_t most_waiting_ = 0;
};

// Node "warren@b": its Cluster service on 127.0.0.1 (`port` 0: any free one).
class Receiver {
 public:
  template <class Box>
  Receiver(const Secret& secret, Box& mailbox, int port = 0)
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

TEST(RaftTransportTest, APeersNextBatchIsReadOnlyOnceTheLastWasHandled) {
  Secret secret = Secret::FromText("SHARED");
  HeldMailbox mailbox;
  Receiver b(secret, mailbox);
  RaftSender to_b(b.address(), secret, "warren@a");
  for (int i = 0; i < 2000; ++i) to_b.Send("m" + std::to_string(i));
  size_t batches = mailbox.HandleUntil(2000, seconds(20));
  ASSERT_GT(batches, 1u) << "the sender sends at most 256 a batch";
  EXPECT_EQ(mailbox.most_waiting(), 1u) << "a batch was read before the last was handled";
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
