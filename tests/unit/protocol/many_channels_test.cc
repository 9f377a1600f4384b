// 2,000 channels on one connection (the capacity bar in tests/CMakeLists.txt,
// here in-process): each channel.open answered on its own number, each
// channel usable, each channel.close answered, the connection fine after.
#include <gtest/gtest.h>

#include "frame_harness.h"

namespace warren::protocol_test {
namespace {

constexpr uint16_t kChannels = 2000;

TEST(ManyChannelsTest, TwoThousandChannelsOpenWorkAndClose) {
  TestNode node;
  RawClient c(node.port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_GE(c.channel_max(), kChannels);

  std::string opens;
  for (uint16_t ch = 1; ch <= kChannels; ++ch) opens += MethodFrame(ch, amqp::ChannelOpen{});
  c.Send(opens);
  for (uint16_t ch = 1; ch <= kChannels; ++ch)
    ASSERT_TRUE(c.Expect<amqp::ChannelOpenOk>(ch)) << "channel " << ch;

  // Every channel works: a server-named queue on each.
  std::string declares;
  for (uint16_t ch = 1; ch <= kChannels; ++ch) {
    amqp::QueueDeclare d;
    d.exclusive = true;
    declares += MethodFrame(ch, d);
  }
  c.Send(declares);
  for (uint16_t ch = 1; ch <= kChannels; ++ch) {
    auto ok = c.Expect<amqp::QueueDeclareOk>(ch);
    ASSERT_TRUE(ok) << "channel " << ch;
    EXPECT_TRUE(ok->queue.starts_with("amq.gen-")) << ok->queue;
  }

  std::string closes;
  for (uint16_t ch = 1; ch <= kChannels; ++ch)
    closes += MethodFrame(ch, amqp::ChannelClose{200, "done", 0, 0});
  c.Send(closes);
  for (uint16_t ch = 1; ch <= kChannels; ++ch)
    ASSERT_TRUE(c.Expect<amqp::ChannelCloseOk>(ch)) << "channel " << ch;

  // The numbers are free again, up to channel_max itself.
  EXPECT_TRUE(c.OpenChannel(1));
  EXPECT_TRUE(c.OpenChannel(c.channel_max()));
  EXPECT_TRUE(c.Close());
  EXPECT_TRUE(NodeServes(node.port()));
}

}  // namespace
}  // namespace warren::protocol_test
