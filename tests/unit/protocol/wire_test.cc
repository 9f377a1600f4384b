// Component tests: an in-process node driven by raw frames. Hostile bytes
// close the connection with RabbitMQ's reply code and never take the node
// down; channel errors leave the connection usable; content and properties
// pass through untouched.
#include <gtest/gtest.h>

#include "amqp/constants.h"
#include "amqp/properties.h"
#include "amqp/wire.h"
#include "wire_client.h"

namespace warren::testing {
namespace {

using amqp::ReplyCode;

std::string Frame(uint8_t type, uint16_t channel, std::string_view payload, char end = '\xCE') {
  std::string out;
  amqp::Writer w(out);
  w.U8(type);
  w.U16(channel);
  w.U32(static_cast<uint32_t>(payload.size()));
  w.Bytes(payload);
  out.push_back(end);
  return out;
}

std::string MethodPayload(uint16_t cls, uint16_t mth, std::string_view args) {
  std::string out;
  amqp::Writer w(out);
  w.U16(cls);
  w.U16(mth);
  w.Bytes(args);
  return out;
}

std::string Publish(uint16_t channel, const std::string& routing_key) {
  amqp::BasicPublish p;
  p.routing_key = routing_key;
  std::string out;
  amqp::AppendMethodFrame(out, channel, p);
  return out;
}

std::string Header(uint16_t channel, uint64_t body_size) {
  std::string payload;
  amqp::Writer w(payload);
  w.U16(60);
  w.U16(0);
  w.U64(body_size);
  w.U16(0);  // no properties
  return Frame(amqp::kFrameHeader, channel, payload);
}

std::string ExchangeDeclareFrame(const std::string& name, const std::string& type) {
  amqp::ExchangeDeclare d;
  d.exchange = name;
  d.type = type;
  std::string out;
  amqp::AppendMethodFrame(out, 1, d);
  return out;
}

struct Hostile {
  const char* name;
  std::string bytes;
  ReplyCode code;
};

void PrintTo(const Hostile& h, std::ostream* os) { *os << h.name; }

class HostileBytesTest : public ::testing::TestWithParam<Hostile> {};

TEST_P(HostileBytesTest, ClosesConnectionWithRabbitMqCodeAndNodeSurvives) {
  NodeRunner node;
  {
    WireClient c(node.port());
    ASSERT_TRUE(c.Handshake());
    ASSERT_TRUE(c.OpenChannel(1));
    c.Send(GetParam().bytes);
    auto close = c.NextMethod();
    ASSERT_TRUE(close.has_value()) << "no connection.close";
    auto* m = std::get_if<amqp::ConnectionClose>(&close->method);
    ASSERT_NE(m, nullptr) << "expected connection.close, got "
                          << amqp::MethodName(amqp::ClassIdOf(close->method),
                                              amqp::MethodIdOf(close->method));
    EXPECT_EQ(m->reply_code, static_cast<uint16_t>(GetParam().code)) << m->reply_text;
    c.SendMethod(0, amqp::ConnectionCloseOk{});
    EXPECT_TRUE(c.AtEof());
  }
  WireClient fresh(node.port());
  EXPECT_TRUE(fresh.Handshake()) << "node stopped serving after " << GetParam().name;
  EXPECT_TRUE(fresh.OpenChannel(1));
}

std::string QueueDeclareArgs(std::string_view table_bytes) {
  std::string a;
  amqp::Writer w(a);
  w.U16(0);
  w.ShortStr("q");
  w.U8(0);
  w.Bytes(table_bytes);
  return a;
}

INSTANTIATE_TEST_SUITE_P(
    Wire, HostileBytesTest,
    ::testing::Values(
        Hostile{"bad_frame_end", Frame(1, 1, MethodPayload(60, 10, std::string(7, '\0')), 'X'),
                ReplyCode::kFrameError},
        Hostile{"oversized_frame", Frame(3, 1, std::string(200000, 'x')), ReplyCode::kFrameError},
        Hostile{"unknown_frame_type", Frame(7, 1, "abcd"), ReplyCode::kFrameError},
        Hostile{"unknown_method", Frame(1, 1, MethodPayload(60, 999, "")),
                ReplyCode::kNotImplemented},
        Hostile{"unknown_class", Frame(1, 1, MethodPayload(77, 10, "")),
                ReplyCode::kNotImplemented},
        Hostile{"truncated_arguments", Frame(1, 1, MethodPayload(50, 10, std::string("\0\0\5ab", 5))),
                ReplyCode::kFrameError},
        Hostile{"truncated_field_table",
                Frame(1, 1, MethodPayload(50, 10, QueueDeclareArgs(std::string("\0\0\0\x10" "abc", 7)))),
                ReplyCode::kFrameError},
        Hostile{"method_on_unopened_channel",
                Frame(1, 5, MethodPayload(50, 10, QueueDeclareArgs(std::string(4, '\0')))),
                ReplyCode::kChannelError},
        Hostile{"second_channel_open", Frame(1, 1, MethodPayload(20, 10, std::string(1, '\0'))),
                ReplyCode::kChannelError},
        Hostile{"header_without_publish", Header(1, 0), ReplyCode::kUnexpectedFrame},
        Hostile{"body_without_publish", Frame(3, 1, "abc"), ReplyCode::kUnexpectedFrame},
        Hostile{"method_instead_of_header",
                Publish(1, "q") + Frame(1, 1, MethodPayload(50, 10, QueueDeclareArgs(std::string(4, '\0')))),
                ReplyCode::kUnexpectedFrame},
        Hostile{"body_longer_than_header", Publish(1, "q") + Header(1, 2) + Frame(3, 1, "abcd"),
                ReplyCode::kFrameError},
        Hostile{"channel_above_channel_max", Frame(1, 2048, MethodPayload(20, 10, std::string(1, '\0'))),
                ReplyCode::kNotAllowed},
        Hostile{"heartbeat_on_a_channel", Frame(8, 1, ""), ReplyCode::kUnexpectedFrame},
        Hostile{"channel_method_on_channel_zero",
                Frame(1, 0, MethodPayload(50, 10, QueueDeclareArgs(std::string(4, '\0')))),
                ReplyCode::kChannelError},
        Hostile{"publish_immediate",
                Frame(1, 1, MethodPayload(60, 40, std::string("\0\0\0\1q\2", 6))),
                ReplyCode::kNotImplemented},
        Hostile{"qos_prefetch_size", Frame(1, 1, MethodPayload(60, 10, std::string("\0\0\0\x0a\0\0\0", 7))),
                ReplyCode::kNotImplemented},
        Hostile{"unknown_exchange_type", ExchangeDeclareFrame("ex1", "bogus"),
                ReplyCode::kCommandInvalid}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(HandshakeTest, WrongProtocolHeaderIsAnsweredWithOursThenClosed) {
  NodeRunner node;
  WireClient c(node.port());
  c.Send(std::string("AMQP\x00\x00\x09\x00", 8));
  EXPECT_EQ(c.ReadRaw(8), amqp::kProtocolHeader);
  EXPECT_TRUE(c.AtEof());
  WireClient http(node.port());
  http.Send("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(http.ReadRaw(8), amqp::kProtocolHeader);
  EXPECT_TRUE(http.AtEof());
}

TEST(HandshakeTest, StartAdvertisesMechanismsAndCapabilities) {
  NodeRunner node;
  WireClient c(node.port());
  c.Send(amqp::kProtocolHeader);
  auto start = c.NextMethod();
  ASSERT_TRUE(start);
  auto& s = std::get<amqp::ConnectionStart>(start->method);
  EXPECT_EQ(s.mechanisms, "PLAIN AMQPLAIN");
  const amqp::FieldValue* caps = s.server_properties.Find("capabilities");
  ASSERT_TRUE(caps && caps->AsTable());
  for (const char* cap : {"publisher_confirms", "exchange_exchange_bindings", "basic.nack",
                          "consumer_cancel_notify", "connection.blocked", "consumer_priorities",
                          "authentication_failure_close", "per_consumer_qos", "direct_reply_to"}) {
    const amqp::FieldValue* v = caps->AsTable()->Find(cap);
    ASSERT_NE(v, nullptr) << cap;
    EXPECT_EQ(v->AsBool(), std::optional<bool>(true)) << cap;
  }
}

TEST(HandshakeTest, BadPasswordGets403WhenTheClientCanTakeIt) {
  NodeRunner node;
  WireClient c(node.port());
  auto close = c.Login("PLAIN", WireClient::Plain("guest", "wrong"));
  ASSERT_TRUE(close);
  auto* m = std::get_if<amqp::ConnectionClose>(&close->method);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->reply_code, 403);
  EXPECT_TRUE(c.AtEof());
  // Without authentication_failure_close the socket just closes.
  WireClient quiet(node.port());
  EXPECT_FALSE(quiet.Login("PLAIN", WireClient::Plain("guest", "wrong"), false));
}

TEST(HandshakeTest, AmqplainLoginWorks) {
  NodeRunner node;
  WireClient c(node.port());
  amqp::FieldTable creds;
  creds.Set("LOGIN", amqp::FieldValue::Str("guest"));
  creds.Set("PASSWORD", amqp::FieldValue::Str("guest"));
  std::string encoded;
  amqp::EncodeTable(creds, encoded);
  // AMQPLAIN carries the table entries without the length prefix.
  auto tune = c.Login("AMQPLAIN", encoded.substr(4));
  ASSERT_TRUE(tune);
  auto& t = std::get<amqp::ConnectionTune>(tune->method);
  EXPECT_EQ(t.channel_max, 2047);
  EXPECT_EQ(t.frame_max, 131072u);
  EXPECT_EQ(t.heartbeat, 60);
}

TEST(HandshakeTest, UnknownVhostIsRefusedWith530) {
  NodeRunner node;
  WireClient c(node.port());
  auto close = c.Open("no-such-vhost");
  ASSERT_TRUE(close);
  EXPECT_EQ(std::get<amqp::ConnectionClose>(close->method).reply_code, 530);
}

TEST(HeartbeatTest, IdleClientGetsHeartbeatsAndASilentOneIsDropped) {
  NodeRunner node;
  WireClient c(node.port(), 15);
  ASSERT_TRUE(c.Handshake("guest", "guest", 1));
  auto beat = c.Next();
  ASSERT_TRUE(beat);
  EXPECT_EQ(beat->type, amqp::kFrameHeartbeat);
  // We now send nothing at all: after two missed intervals the node hangs up.
  EXPECT_TRUE(c.AtEof());
}

TEST(ChannelErrorTest, ChannelCloseLeavesConnectionUsable) {
  NodeRunner node;
  WireClient c(node.port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1));
  amqp::QueueDeclare passive;
  passive.queue = "missing";
  passive.passive = true;
  c.SendMethod(1, passive);
  auto close = c.NextMethod();
  ASSERT_TRUE(close);
  auto& m = std::get<amqp::ChannelClose>(close->method);
  EXPECT_EQ(m.reply_code, 404);
  EXPECT_EQ(m.class_id, 50);
  EXPECT_EQ(m.method_id, 10);
  // Until close-ok, methods on the closing channel are dropped silently.
  c.SendMethod(1, passive);
  c.SendMethod(1, amqp::ChannelCloseOk{});
  ASSERT_TRUE(c.OpenChannel(1));
  amqp::QueueDeclare declare;
  declare.queue = "present";
  c.SendMethod(1, declare);
  auto ok = c.NextMethod();
  ASSERT_TRUE(ok);
  EXPECT_EQ(std::get<amqp::QueueDeclareOk>(ok->method).queue, "present");
}

TEST(PermissionTest, ConfigureAndWriteAreCheckedWhereRabbitMqChecksThem) {
  NodeConfig config;
  config.users.push_back(UserConfig{"limited", "secret", "", {}});
  config.permissions.push_back(PermissionConfig{"limited", "/", "^limited-", "^limited-", "^limited-"});
  NodeRunner node(config);
  WireClient c(node.port());
  ASSERT_TRUE(c.Handshake("limited", "secret"));
  ASSERT_TRUE(c.OpenChannel(1));
  amqp::QueueDeclare mine;
  mine.queue = "limited-q";
  c.SendMethod(1, mine);
  auto ok = c.NextMethod();
  ASSERT_TRUE(ok && std::holds_alternative<amqp::QueueDeclareOk>(ok->method));
  amqp::QueueDeclare theirs;
  theirs.queue = "other-q";
  c.SendMethod(1, theirs);
  auto refused = c.NextMethod();
  ASSERT_TRUE(refused);
  EXPECT_EQ(std::get<amqp::ChannelClose>(refused->method).reply_code, 403);
  c.SendMethod(1, amqp::ChannelCloseOk{});
  // Publishing needs write on the exchange: the default exchange is checked
  // as "amq.default", outside ^limited-.
  ASSERT_TRUE(c.OpenChannel(1));
  c.Send(Publish(1, "limited-q"));
  auto publish_refused = c.NextMethod();
  ASSERT_TRUE(publish_refused);
  auto& close = std::get<amqp::ChannelClose>(publish_refused->method);
  EXPECT_EQ(close.reply_code, 403);
  EXPECT_EQ(close.class_id, 60);
  EXPECT_EQ(close.method_id, 40);
}

// Publishes `body` with `props` to queue "q" (declared first) and returns the
// content header payload and body frames of basic.get.
struct Got {
  std::string header_payload;
  std::vector<std::string> body_frames;
};

Got PublishAndGet(WireClient& c, const amqp::BasicProperties& props, const std::string& body,
                  uint32_t frame_max) {
  amqp::QueueDeclare declare;
  declare.queue = "q";
  c.SendMethod(1, declare);
  c.NextMethod();
  std::string out;
  std::string raw;
  amqp::EncodeProperties(props, raw);
  amqp::AppendMethodFrame(out, 1, amqp::BasicPublish{0, "", "q", false, false});
  amqp::AppendContent(out, 1, 60, raw, body, frame_max);
  c.Send(out);
  amqp::BasicGet get;
  get.queue = "q";
  get.no_ack = true;
  c.SendMethod(1, get);
  Got got;
  auto ok = c.NextMethod();
  EXPECT_TRUE(ok && std::holds_alternative<amqp::BasicGetOk>(ok->method));
  auto header = c.Next();
  EXPECT_TRUE(header && header->type == amqp::kFrameHeader);
  got.header_payload = header ? header->payload : "";
  size_t received = 0;
  while (received < body.size()) {
    auto f = c.Next();
    if (!f || f->type != amqp::kFrameBody) break;
    received += f->payload.size();
    got.body_frames.push_back(f->payload);
  }
  return got;
}

TEST(ContentTest, AllPropertiesAndFieldTypesPassThroughUntouched) {
  NodeRunner node;
  WireClient c(node.port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1));
  amqp::FieldTable nested;
  nested.Set("inner", amqp::FieldValue::Str("v"));
  amqp::FieldTable h;
  h.Set("t", amqp::FieldValue::Bool(true));
  h.Set("b", amqp::FieldValue::Int(amqp::FieldType::kInt8, -5));
  h.Set("B", amqp::FieldValue::Int(amqp::FieldType::kUInt8, 250));
  h.Set("s", amqp::FieldValue::Int(amqp::FieldType::kInt16, -300));
  h.Set("u", amqp::FieldValue::Int(amqp::FieldType::kUInt16, 60000));
  h.Set("I", amqp::FieldValue::Int(amqp::FieldType::kInt32, -70000));
  h.Set("i", amqp::FieldValue::Int(amqp::FieldType::kUInt32, 4000000000));
  h.Set("l", amqp::FieldValue::Long(-1234567890123));
  h.Set("f", amqp::FieldValue{'f', 1.25f});
  h.Set("d", amqp::FieldValue{'d', -2.5});
  h.Set("D", amqp::FieldValue{'D', amqp::Decimal{2, 31415}});
  h.Set("S", amqp::FieldValue::Str("long string"));
  h.Set("x", amqp::FieldValue{'x', std::string("\0\1\2", 3)});
  h.Set("A", amqp::FieldValue::Array({amqp::FieldValue::Long(1), amqp::FieldValue::Str("two")}));
  h.Set("T", amqp::FieldValue::Timestamp(1700000000));
  h.Set("F", amqp::FieldValue::Table(nested));
  h.Set("V", amqp::FieldValue::Void());
  amqp::BasicProperties p;
  p.content_type = "application/json";
  p.content_encoding = "gzip";
  p.headers = h;
  p.delivery_mode = 2;
  p.priority = 7;
  p.correlation_id = "corr";
  p.reply_to = "replies";
  p.expiration = "60000";
  p.message_id = "id-1";
  p.timestamp = 1700000001;
  p.type = "kind";
  p.user_id = "guest";
  p.app_id = "app";
  p.cluster_id = "cluster";
  std::string raw;
  amqp::EncodeProperties(p, raw);
  Got got = PublishAndGet(c, p, "payload", 131072);
  ASSERT_GE(got.header_payload.size(), 12u);
  EXPECT_EQ(got.header_payload.substr(12), raw);
  amqp::ContentHeader decoded;
  ASSERT_TRUE(amqp::DecodeContentHeader(got.header_payload, decoded));
  EXPECT_EQ(decoded.properties, p);
}

TEST(ContentTest, LargeBodySplitsAtNegotiatedFrameMax) {
  NodeRunner node;
  WireClient c(node.port());
  ASSERT_TRUE(c.Handshake("guest", "guest", 0, 4096));
  ASSERT_TRUE(c.OpenChannel(1));
  std::string body(300 * 1024, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7);
  Got got = PublishAndGet(c, {}, body, 4096);
  std::string joined;
  for (const auto& f : got.body_frames) {
    EXPECT_LE(f.size() + amqp::kFrameOverhead, 4096u);
    joined += f;
  }
  EXPECT_EQ(joined, body);
  EXPECT_GT(got.body_frames.size(), 70u);
}

TEST(ChannelsTest, TwoThousandChannelsOnOneConnection) {
  NodeRunner node;
  WireClient c(node.port());
  ASSERT_TRUE(c.Handshake());
  std::string opens;
  for (uint16_t ch = 1; ch <= 2000; ++ch) amqp::AppendMethodFrame(opens, ch, amqp::ChannelOpen{});
  c.Send(opens);
  std::vector<bool> seen(2001, false);
  for (int i = 0; i < 2000; ++i) {
    auto r = c.NextMethod();
    ASSERT_TRUE(r);
    ASSERT_TRUE(std::holds_alternative<amqp::ChannelOpenOk>(r->method));
    ASSERT_FALSE(seen[r->channel]);
    seen[r->channel] = true;
  }
}

}  // namespace
}  // namespace warren::testing
