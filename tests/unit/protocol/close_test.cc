// How a connection ends (spec 4.2.2 connection.close): the broker's last
// frames reach the client, and the socket ends with the broker's FIN, never
// a reset, even when the client still has input on its way. Closing a
// socket with unread input makes the kernel answer with a reset, which
// destroys close-ok in flight and fails the client's pending writes (EPIPE).
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "frame_harness.h"

namespace warren::protocol_test {
namespace {

std::string Publishes(size_t count, const std::string& queue, size_t body_size) {
  std::string out;
  std::string body(body_size, 'x');
  for (size_t i = 0; i < count; ++i) out += PublishFrames(1, "", queue, body);
  return out;
}

std::optional<uint32_t> MessageCount(uint16_t port, const std::string& queue) {
  RawClient c(port);
  if (!c.Handshake() || !c.OpenChannel(1)) return std::nullopt;
  amqp::QueueDeclare d;
  d.queue = queue;
  d.passive = true;
  c.SendMethod(1, d);
  auto ok = c.Expect<amqp::QueueDeclareOk>(1);
  if (!ok) return std::nullopt;
  return ok->message_count;
}

// amqplib multiplexes channels onto the socket, so its connection.close can
// overtake publishes still queued on a channel: the broker reads close with
// megabytes of input behind it. It answers close-ok, and discards the rest
// (everything after connection.close is, as in RabbitMQ) until the client
// closes, so the client sees close-ok and a FIN and its writes succeed.
TEST(CloseTest, InputBehindTheClientsCloseIsDrainedNotReset) {
  TestNode node;
  {
    RawClient c(node.port());
    ASSERT_TRUE(c.Handshake());
    ASSERT_TRUE(c.OpenChannel(1));
    ASSERT_TRUE(c.DeclareQueue(1, "q"));
    std::string bytes = Publishes(100, "q", 1000);
    amqp::AppendMethodFrame(bytes, 0, amqp::ConnectionClose{200, "bye", 0, 0});
    bytes += Publishes(2000, "q", 4000);  // 8 MB: more than any socket buffer
    c.Send(bytes);
    EXPECT_EQ(c.send_error(), 0) << "the broker reset the connection: "
                                 << std::strerror(c.send_error());
    EXPECT_TRUE(c.Expect<amqp::ConnectionCloseOk>(0));
    EXPECT_TRUE(c.WaitEof());
    EXPECT_FALSE(c.reset()) << "the socket ended with a reset, not the broker's FIN";
  }
  // What came before connection.close was routed; nothing after it was.
  EXPECT_EQ(MessageCount(node.port(), "q"), std::optional<uint32_t>(100));
}

// The same burst without close-ok in the way: a client that ends its side
// right after connection.close still gets close-ok, then EOF.
TEST(CloseTest, CloseThenHalfCloseGetsCloseOkAndEof) {
  TestNode node;
  RawClient c(node.port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1));
  ASSERT_TRUE(c.DeclareQueue(1, "q"));
  std::string bytes = Publishes(1000, "q", 1000);
  amqp::AppendMethodFrame(bytes, 0, amqp::ConnectionClose{200, "bye", 0, 0});
  c.Send(bytes);
  c.ShutdownWrite();
  EXPECT_TRUE(c.Expect<amqp::ConnectionCloseOk>(0));
  EXPECT_TRUE(c.WaitEof());
  EXPECT_FALSE(c.reset());
}

// After the broker's connection.close it reads and discards all but close
// and close-ok (spec 4.2.2); a client that never answers is cut off after
// the close-ok timeout with a FIN, while it is still sending.
TEST(CloseTest, ClientThatNeverAnswersServerCloseGetsAFinNotAReset) {
  TestNode node;
  RawClient c(node.port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1));
  ASSERT_TRUE(c.DeclareQueue(1, "q"));
  c.SendMethod(1, amqp::ConnectionTuneOk{2047, 131072, 0});  // a connection method on a channel
  ASSERT_TRUE(c.ExpectConnectionClose(503, 10, 31));
  EXPECT_TRUE(c.SendUntilEof(Publishes(100, "q", 1000)));
  EXPECT_FALSE(c.reset()) << "the socket ended with a reset, not the broker's FIN";
  EXPECT_TRUE(c.pending().empty()) << "frames after connection.close";
}

// Frames the client sent before it saw the broker's connection.close are
// discarded, not answered; its close-ok then ends the connection cleanly.
TEST(CloseTest, FramesBeforeCloseOkAreDiscardedAndCloseOkEndsTheConnection) {
  TestNode node;
  RawClient c(node.port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1));
  ASSERT_TRUE(c.DeclareQueue(1, "q"));
  c.SendMethod(1, amqp::ConnectionTuneOk{2047, 131072, 0});
  ASSERT_TRUE(c.ExpectConnectionClose(503, 10, 31));
  std::string ignored = Publishes(50, "q", 100);
  ignored += MethodFrame(2, amqp::ChannelOpen{});
  ignored += MethodFrame(1, amqp::QueueDeclare{0, "other", false, false, false, false, false, {}});
  ignored += MethodFrame(0, amqp::ConnectionUpdateSecret{"secret", "why"});
  ignored += RawFrame(amqp::kFrameHeartbeat, 0, "");
  c.Send(ignored);
  c.SendMethod(0, amqp::ConnectionCloseOk{});
  EXPECT_TRUE(c.WaitEof());
  EXPECT_FALSE(c.reset());
  EXPECT_TRUE(c.pending().empty()) << "the broker answered a frame after its connection.close";
  EXPECT_EQ(MessageCount(node.port(), "q"), std::optional<uint32_t>(0));
}

}  // namespace
}  // namespace warren::protocol_test
