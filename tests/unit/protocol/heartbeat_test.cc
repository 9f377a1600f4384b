// Heartbeats (spec 4.2.7) with a 1-second interval: the broker sends them to
// an idle client, keeps a client that answers, and drops one that has been
// silent for more than two intervals (without connection.close, as RabbitMQ
// does). The waits are bounded, never slept.
#include <gtest/gtest.h>

#include "frame_harness.h"

namespace warren::protocol_test {
namespace {

class HeartbeatIntervalTest : public ::testing::Test {
 protected:
  HeartbeatIntervalTest() : node_([](NodeConfig& c) { c.heartbeat = 1; }) {}

  // Handshake accepting the broker's heartbeat of 1 s.
  ::testing::AssertionResult Connect(RawClient& c) {
    Login login;
    login.heartbeat = 1;
    auto r = c.Handshake(login);
    if (r && c.tune().heartbeat != 1)
      return ::testing::AssertionFailure() << "tune offered heartbeat " << c.tune().heartbeat;
    return r;
  }

  TestNode node_;
};

std::string Heartbeat() { return RawFrame(amqp::kFrameHeartbeat, 0, ""); }

TEST_F(HeartbeatIntervalTest, IdleClientReceivesHeartbeats) {
  RawClient c(node_.port());
  ASSERT_TRUE(Connect(c));
  for (int i = 0; i < 3; ++i) {
    auto f = c.ReadFrame(Millis(3000));
    ASSERT_TRUE(f) << "no heartbeat within 3 s (heartbeat " << i << ")";
    EXPECT_EQ(f->type, amqp::kFrameHeartbeat) << Describe(*f);
    EXPECT_EQ(f->channel, 0);
    EXPECT_EQ(f->payload, "");
    c.Send(Heartbeat());  // keeps us alive
  }
  EXPECT_TRUE(c.OpenChannel(1));
}

TEST_F(HeartbeatIntervalTest, ClientThatAnswersHeartbeatsStaysConnected) {
  RawClient c(node_.port());
  ASSERT_TRUE(Connect(c));
  // Answer every heartbeat for longer than the silence limit (2 s).
  auto start = SteadyClock::now();
  int beats = 0;
  while (SteadyClock::now() - start < Millis(3500)) {
    auto f = c.ReadFrame(Millis(3000));
    ASSERT_TRUE(f) << (c.eof() ? "dropped although it answered heartbeats"
                               : "no heartbeat within 3 s");
    ASSERT_EQ(f->type, amqp::kFrameHeartbeat) << Describe(*f);
    ++beats;
    c.Send(Heartbeat());
  }
  EXPECT_GE(beats, 2);
  EXPECT_TRUE(c.OpenChannel(1));
  EXPECT_TRUE(c.Close());
}

TEST_F(HeartbeatIntervalTest, TrafficOtherThanHeartbeatsAlsoCountsAsLife) {
  RawClient c(node_.port());
  ASSERT_TRUE(Connect(c));
  ASSERT_TRUE(c.OpenChannel(1));
  auto start = SteadyClock::now();
  while (SteadyClock::now() - start < Millis(3500)) {
    // The broker's heartbeats pace us; we answer with a method instead.
    auto f = c.ReadFrame(Millis(3000));
    ASSERT_TRUE(f) << (c.eof() ? "dropped although it sent methods" : "no heartbeat");
    ASSERT_EQ(f->type, amqp::kFrameHeartbeat) << Describe(*f);
    c.SendMethod(1, amqp::ChannelFlow{true});
    ASSERT_TRUE(c.Expect<amqp::ChannelFlowOk>(1));
  }
}

TEST_F(HeartbeatIntervalTest, SilentClientIsDisconnectedAfterTwoIntervals) {
  RawClient c(node_.port());
  ASSERT_TRUE(Connect(c));
  ASSERT_TRUE(c.OpenChannel(1));
  auto silent_since = SteadyClock::now();
  ASSERT_TRUE(c.WaitEof(Millis(10000))) << "still connected after 10 s of silence";
  auto silent_for = SteadyClock::now() - silent_since;
  EXPECT_GE(silent_for, Millis(1500)) << "dropped before two heartbeat intervals had passed";
  // Only heartbeats came before the socket closed: no connection.close.
  while (auto f = c.ReadFrame(Millis(0)))
    EXPECT_EQ(f->type, amqp::kFrameHeartbeat) << Describe(*f);
  EXPECT_EQ(c.pending(), "");
  EXPECT_TRUE(NodeServes(node_.port()));
}

TEST_F(HeartbeatIntervalTest, NoHeartbeatsWhenTheClientTurnsThemOff) {
  RawClient c(node_.port());
  ASSERT_TRUE(c.Handshake());  // tune-ok heartbeat = 0
  ASSERT_TRUE(c.OpenChannel(1));
  // Three offered intervals of silence from both sides; still connected.
  auto f = c.ReadFrame(Millis(3000));
  EXPECT_FALSE(f) << Describe(*f);
  EXPECT_FALSE(c.eof());
  EXPECT_TRUE(c.OpenChannel(2));
}

}  // namespace
}  // namespace warren::protocol_test
