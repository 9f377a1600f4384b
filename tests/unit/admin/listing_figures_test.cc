// The figures the listings and the overview give of a known workload: a
// queue's bytes (ready, unacknowledged, persistent, in memory), its head's
// timestamp and consumer capacity, an exchange's publishes in and out, a
// connection's socket reads and writes, and the overview's sums over the
// node's channels and connections.
#include <chrono>
#include <string>

#include "admin/admin_fixture.h"
#include "protocol/frame_harness.h"

namespace warren::admin_test {
namespace {

using protocol_test::RawClient;

class ListingFiguresTest : public ::testing::Test {
 protected:
  template <class Response, class Request>
  Response Call(grpc::Status (v1::Admin::Stub::*method)(grpc::ClientContext*, const Request&,
                                                        Response*),
                const Request& request) {
    Response out;
    grpc::Status s = (node_.stub().*method)(AdminNode::Guest().get(), request, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
  v1::Queue QueueNamed(const std::string& name) {
    v1::ListRequest all;
    all.set_all_vhosts(true);
    const auto listed = Call(&v1::Admin::Stub::ListQueues, all);
    for (const auto& q : listed.queues())
      if (q.name() == name) return q;
    ADD_FAILURE() << "no queue " << name;
    return {};
  }
  static std::string Props(uint8_t delivery_mode, uint64_t timestamp) {
    amqp::BasicProperties p;
    if (delivery_mode) p.delivery_mode = delivery_mode;
    if (timestamp) p.timestamp = timestamp;
    std::string raw;
    amqp::EncodeProperties(p, raw);
    return raw;
  }

  AdminNode node_;
};

TEST_F(ListingFiguresTest, AKnownWorkloadGivesItsFigures) {
  RawClient c(node_.amqp_port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1));
  ASSERT_TRUE(c.DeclareQueue(1, "durable", {}, /*durable=*/true));
  ASSERT_TRUE(c.DeclareQueue(1, "transient"));
  amqp::ExchangeDeclare x;
  x.exchange = "fan";
  x.type = "fanout";
  c.SendMethod(1, x);
  ASSERT_TRUE(c.Expect<amqp::ExchangeDeclareOk>(1));
  for (const char* q : {"durable", "transient"}) {
    amqp::QueueBind b;
    b.queue = q;
    b.exchange = "fan";
    c.SendMethod(1, b);
    ASSERT_TRUE(c.Expect<amqp::QueueBindOk>(1));
  }
  amqp::BasicQos qos;
  qos.prefetch_count = 7;
  qos.global = true;
  c.SendMethod(1, qos);
  ASSERT_TRUE(c.Expect<amqp::BasicQosOk>(1));
  // Two persistent messages (10 and 20 bytes, the first timestamped) and a
  // transient one of 5 bytes, each routed to both queues.
  ASSERT_TRUE(c.Send(protocol_test::PublishFrames(1, "fan", "", std::string(10, 'a'),
                                                  Props(2, 1'700'000'123))));
  ASSERT_TRUE(c.Send(protocol_test::PublishFrames(1, "fan", "", std::string(20, 'b'),
                                                  Props(2, 0))));
  ASSERT_TRUE(c.Send(protocol_test::PublishFrames(1, "fan", "", std::string(5, 'c'),
                                                  Props(1, 0))));
  // One taken with basic.get in manual-ack mode: unacknowledged.
  amqp::BasicGet get;
  get.queue = "durable";
  c.SendMethod(1, get);
  ASSERT_TRUE(c.Expect<amqp::BasicGetOk>(1));
  std::string header;
  std::vector<std::string> body;
  ASSERT_TRUE(protocol_test::ReadContent(c, 1, header, body));

  v1::Queue d = QueueNamed("durable");
  EXPECT_EQ(d.messages_ready(), 2u);
  EXPECT_EQ(d.messages_unacknowledged(), 1u);
  EXPECT_EQ(d.message_bytes_ready(), 25u);
  EXPECT_EQ(d.message_bytes_unacknowledged(), 10u);
  EXPECT_EQ(d.message_bytes(), 35u);
  EXPECT_EQ(d.messages_persistent(), 2u);  // the unacknowledged one still counts
  EXPECT_EQ(d.message_bytes_persistent(), 30u);
  EXPECT_EQ(d.messages_ram(), 3u);
  EXPECT_EQ(d.message_bytes_ram(), 35u);
  EXPECT_EQ(d.head_message_timestamp(), 0);  // the head (20 bytes) has none
  EXPECT_EQ(d.consumer_capacity(), 0.0);     // no consumers
  EXPECT_GT(d.memory(), d.message_bytes_ram());
  EXPECT_EQ(d.idle_since_ms(), 0);  // just used

  v1::Queue t = QueueNamed("transient");
  EXPECT_EQ(t.messages_persistent(), 0u);  // a transient queue keeps nothing persistent
  EXPECT_EQ(t.message_bytes(), 35u);
  EXPECT_EQ(t.head_message_timestamp(), 1'700'000'123);

  v1::ListRequest all;
  all.set_all_vhosts(true);
  bool found = false;
  const auto exchanges = Call(&v1::Admin::Stub::ListExchanges, all);
  for (const auto& e : exchanges.exchanges()) {
    if (e.name() != "fan") continue;
    found = true;
    EXPECT_EQ(e.publish_in(), 3u);
    EXPECT_EQ(e.publish_out(), 6u);  // once per destination queue
  }
  EXPECT_TRUE(found);

  // Every frame the client read was written: poll until the node has seen
  // its write complete.
  v1::Connection conn;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    auto listed = Call(&v1::Admin::Stub::ListConnections, all);
    ASSERT_EQ(listed.connections_size(), 1);
    conn = listed.connections(0);
  } while (conn.send_pend() != 0 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(conn.send_pend(), 0u);
  EXPECT_GE(conn.recv_cnt(), 1u);
  EXPECT_LE(conn.recv_cnt(), conn.recv_oct());
  EXPECT_GE(conn.send_cnt(), 1u);
  EXPECT_LE(conn.send_cnt(), conn.send_oct());

  auto o = Call(&v1::Admin::Stub::Overview, v1::Empty());
  EXPECT_EQ(o.channel_messages_unacknowledged(), 1u);
  EXPECT_EQ(o.channel_prefetch(), 7u);
  EXPECT_EQ(o.channel_messages_unconfirmed(), 0u);
  EXPECT_EQ(o.channel_messages_uncommitted(), 0u);
  EXPECT_EQ(o.channel_acks_uncommitted(), 0u);
  EXPECT_GE(o.connection_recv_oct(), conn.recv_oct());  // read again since
  EXPECT_GE(o.connection_recv_cnt(), conn.recv_cnt());
  EXPECT_GE(o.connection_send_cnt(), conn.send_cnt());
  EXPECT_GE(o.connection_send_oct(), conn.send_oct());

  // Acked: it leaves every figure.
  amqp::BasicAck ack;
  ack.delivery_tag = 1;
  c.SendMethod(1, ack);
  ASSERT_TRUE(c.DeclareQueue(1, "durable", {}, true));  // a round trip after the ack
  d = QueueNamed("durable");
  EXPECT_EQ(d.message_bytes_unacknowledged(), 0u);
  EXPECT_EQ(d.message_bytes(), 25u);
  EXPECT_EQ(d.messages_persistent(), 1u);
  EXPECT_EQ(d.message_bytes_persistent(), 20u);
  ASSERT_TRUE(c.Close());
}

}  // namespace
}  // namespace warren::admin_test
