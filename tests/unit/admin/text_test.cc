// AMQP strings are bytes: names, keys, tags, argument values, headers and
// client properties that are not UTF-8 go through every listing, export and
// get without failing them, names come back byte for byte, and JSON shows a
// string value that is not UTF-8 as RabbitMQ's API does.
#include <string>

#include "admin/admin_fixture.h"
#include "protocol/frame_harness.h"

namespace warren::admin_test {
namespace {

using protocol_test::RawClient;

const std::string kBad = "\xff";

class NotUtf8Test : public ::testing::Test {
 protected:
  // Logs in with client properties holding a string that is not UTF-8.
  void Connect(RawClient& c) {
    c.SendHeader();
    ASSERT_TRUE(c.ExpectStart());
    amqp::ConnectionStartOk ok;
    ok.client_properties.Set("product", amqp::FieldValue::Str("client" + kBad));
    ok.client_properties.Set("connection_name" + kBad, amqp::FieldValue::Str(kBad));
    ok.mechanism = "PLAIN";
    ok.response = RawClient::Plain("guest", "guest");
    ok.locale = "en_US";
    c.SendMethod(0, ok);
    auto tune = c.ExpectTune();
    ASSERT_TRUE(tune);
    c.SendTuneOk(tune->channel_max, tune->frame_max, 0);
    c.SendOpen("/");
    ASSERT_TRUE(c.Expect<amqp::ConnectionOpenOk>(0));
    ASSERT_TRUE(c.OpenChannel(1));
  }

  template <class Response, class Request>
  Response Call(grpc::Status (v1::Admin::Stub::*method)(grpc::ClientContext*, const Request&,
                                                        Response*),
                const Request& request) {
    Response out;
    grpc::Status s = (node_.stub().*method)(AdminNode::Guest().get(), request, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  AdminNode node_;
};

TEST_F(NotUtf8Test, ListingsExportAndGetShowEveryByte) {
  RawClient c(node_.amqp_port());
  ASSERT_NO_FATAL_FAILURE(Connect(c));
  amqp::FieldTable args;
  args.Set("x-note", amqp::FieldValue::Str(kBad));
  args.Set("x-key" + kBad, amqp::FieldValue::Long(1));
  const std::string queue = "q" + kBad;
  ASSERT_TRUE(c.DeclareQueue(1, queue, args, /*durable=*/true));
  amqp::QueueBind bind;
  bind.queue = queue;
  bind.exchange = "amq.direct";
  bind.routing_key = "k" + kBad;
  bind.arguments = args;
  c.SendMethod(1, bind);
  ASSERT_TRUE(c.Expect<amqp::QueueBindOk>(1));
  amqp::BasicConsume consume;
  consume.queue = queue;
  consume.consumer_tag = "c" + kBad;
  c.SendMethod(1, consume);
  ASSERT_TRUE(c.Expect<amqp::BasicConsumeOk>(1));
  amqp::BasicProperties props;
  props.content_type = "text/" + kBad;
  props.headers = args;
  std::string raw_props;
  amqp::EncodeProperties(props, raw_props);
  ASSERT_TRUE(c.Send(protocol_test::PublishFrames(1, "", "also" + kBad, "body", raw_props)));

  v1::ListRequest all;
  all.set_all_vhosts(true);
  auto queues = Call(&v1::Admin::Stub::ListQueues, all);
  ASSERT_EQ(queues.queues_size(), 1);
  EXPECT_EQ(queues.queues(0).name(), queue);  // bytes, as declared
  EXPECT_EQ(queues.queues(0).arguments(),
            "{\"x-key\xEF\xBF\xBD\":1,\"x-note\":\"Not UTF-8, base64 is: /w==\"}");

  auto bindings = Call(&v1::Admin::Stub::ListBindings, all);
  bool found = false;
  for (const auto& b : bindings.bindings()) found = found || b.routing_key() == "k" + kBad;
  EXPECT_TRUE(found);
  auto consumers = Call(&v1::Admin::Stub::ListConsumers, all);
  ASSERT_EQ(consumers.consumers_size(), 1);
  EXPECT_EQ(consumers.consumers(0).consumer_tag(), "c" + kBad);
  auto connections = Call(&v1::Admin::Stub::ListConnections, all);
  ASSERT_EQ(connections.connections_size(), 1);
  EXPECT_NE(connections.connections(0).client_properties().find("Not UTF-8, base64 is: "),
            std::string::npos);
  Call(&v1::Admin::Stub::ListChannels, all);
  auto defs = Call(&v1::Admin::Stub::ExportDefinitions, v1::Empty());
  EXPECT_NE(defs.json().find("Not UTF-8, base64 is: /w=="), std::string::npos);

  // A queue of its own for the get, with a message whose properties are
  // not UTF-8.
  ASSERT_TRUE(c.DeclareQueue(1, "plain"));
  ASSERT_TRUE(c.Send(protocol_test::PublishFrames(1, "", "plain", "body", raw_props)));
  ASSERT_TRUE(c.Close());
  v1::GetMessagesRequest get;
  get.set_queue("plain");
  get.set_count(1);
  get.set_ackmode("ack_requeue_false");
  get.set_encoding("auto");
  auto got = Call(&v1::Admin::Stub::GetMessages, get);
  ASSERT_EQ(got.messages_size(), 1);
  EXPECT_NE(got.messages(0).properties().find("\"content_type\":\"Not UTF-8, base64 is: "),
            std::string::npos)
      << got.messages(0).properties();

  // The name a listing gave names the queue: it deletes it.
  v1::DeleteQueueRequest del;
  del.set_name(queues.queues(0).name());
  Call(&v1::Admin::Stub::DeleteQueue, del);
}

TEST_F(NotUtf8Test, ADurableQueueWithSuchArgumentsListsAfterARestart) {
  {
    RawClient c(node_.amqp_port());
    ASSERT_NO_FATAL_FAILURE(Connect(c));
    amqp::FieldTable args;
    args.Set("x-note", amqp::FieldValue::Str(kBad));
    ASSERT_TRUE(c.DeclareQueue(1, "kept" + kBad, args, /*durable=*/true));
    ASSERT_TRUE(c.Close());
  }
  node_.Restart();
  v1::ListRequest all;
  all.set_all_vhosts(true);
  auto queues = Call(&v1::Admin::Stub::ListQueues, all);
  ASSERT_EQ(queues.queues_size(), 1);
  EXPECT_EQ(queues.queues(0).name(), "kept" + kBad);
  Call(&v1::Admin::Stub::Overview, v1::Empty());
  Call(&v1::Admin::Stub::Status, v1::Empty());
}

}  // namespace
}  // namespace warren::admin_test
