// The connection handshake (spec 2.2.4, 4.2.2; connection.h's diagram) driven
// with raw frames: protocol header, connection.start, PLAIN and AMQPLAIN,
// refused logins, tune limits, vhost access, and both kinds of close.
#include <gtest/gtest.h>

#include "frame_harness.h"

namespace warren::protocol_test {
namespace {

using amqp::ReplyCode;

constexpr uint16_t kConfiguredHeartbeat = 7;

// A node with guest on "/" (the defaults), a vhost "other", and alice, who
// may use "other" but not "/".
class ConnectionHandshakeTest : public ::testing::Test {
 protected:
  ConnectionHandshakeTest()
      : node_([](NodeConfig& c) {
          c.heartbeat = kConfiguredHeartbeat;
          c.vhosts = {"other"};
          c.users = {UserConfig{"alice", "secret", "", {}}};
          PermissionConfig p;
          p.user = "alice";
          p.vhost = "other";
          c.permissions = {p};
        }) {}

  // Header, start, start-ok with `mechanism` and `response`.
  std::unique_ptr<RawClient> StartLogin(const std::string& mechanism, const std::string& response,
                                        bool authentication_failure_close = true) {
    auto c = std::make_unique<RawClient>(node_.port());
    c->SendHeader();
    EXPECT_TRUE(c->ExpectStart());
    c->SendStartOk(mechanism, response, authentication_failure_close);
    return c;
  }
  // Logged in as guest, connection.tune received, nothing answered yet.
  std::unique_ptr<RawClient> AtTune() {
    auto c = StartLogin("PLAIN", RawClient::Plain("guest", "guest"));
    EXPECT_TRUE(c->ExpectTune());
    return c;
  }

  TestNode node_;
};

// Spec 4.2.2: a server that does not speak the client's protocol answers with
// the header it does speak and closes the socket.
class WrongHeaderTest : public ConnectionHandshakeTest,
                        public ::testing::WithParamInterface<std::string> {};

TEST_P(WrongHeaderTest, IsAnsweredWithAmqp0091ThenClosed) {
  {
    RawClient c(node_.port());
    c.Send(GetParam());
    EXPECT_EQ(c.ReadBytes(8), amqp::kProtocolHeader);
    EXPECT_TRUE(c.WaitEof());
    EXPECT_EQ(c.pending(), "") << "nothing may follow the protocol header";
  }
  {
    RawClient c(node_.port());
    c.SendByteAtATime(GetParam().substr(0, 8));
    EXPECT_EQ(c.ReadBytes(8), amqp::kProtocolHeader);
    EXPECT_TRUE(c.WaitEof());
  }
  EXPECT_TRUE(NodeServes(node_.port()));
}

const char* const kWrongHeaderNames[] = {"amqp_0_9_0", "amqp_0_8",   "amqp_1_0",
                                         "http_get",   "http_reply", "tls_client_hello"};

INSTANTIATE_TEST_SUITE_P(
    Headers, WrongHeaderTest,
    ::testing::Values(std::string("AMQP\x00\x00\x09\x00", 8),  // 0-9-0
                      std::string("AMQP\x00\x00\x08\x00", 8),  // 0-8
                      std::string("AMQP\x00\x01\x00\x00", 8),  // 1.0
                      std::string("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                      std::string("HTTP/1.1 200 OK\r\n\r\n"),
                      std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11)),
    [](const auto& info) { return std::string(kWrongHeaderNames[info.index]); });

// RabbitMQ treats the 0-9 header ("AMQP" 1 1 0 9) as 0-9-1 and answers with
// connection.start version 0-9 (rabbit_reader:handshake/2; checked against
// 3.10).
TEST_F(ConnectionHandshakeTest, Amqp09HeaderIsServedLikeRabbitMq) {
  RawClient c(node_.port());
  c.Send(std::string("AMQP\x01\x01\x00\x09", 8));
  auto start = c.ExpectStart();
  ASSERT_TRUE(start);
  EXPECT_EQ(start->version_major, 0);
  EXPECT_EQ(start->version_minor, 9);
}

TEST_F(ConnectionHandshakeTest, StartOffersPlainAndAmqplainAndEveryCapability) {
  RawClient c(node_.port());
  c.SendHeader();
  auto start = c.ExpectStart();
  ASSERT_TRUE(start);
  EXPECT_EQ(start->version_major, 0);
  EXPECT_EQ(start->version_minor, 9);
  EXPECT_EQ(start->mechanisms, "PLAIN AMQPLAIN");
  EXPECT_EQ(start->locales, "en_US");
  for (const char* key : {"product", "version", "platform", "copyright", "information"}) {
    const amqp::FieldValue* v = start->server_properties.Find(key);
    EXPECT_TRUE(v && v->AsString()) << key << " missing from server_properties";
  }
  const amqp::FieldValue* caps = start->server_properties.Find("capabilities");
  ASSERT_TRUE(caps && caps->AsTable()) << "server_properties.capabilities is not a table";
  for (const char* cap : {"publisher_confirms", "exchange_exchange_bindings", "basic.nack",
                          "consumer_cancel_notify", "connection.blocked", "consumer_priorities",
                          "authentication_failure_close", "per_consumer_qos",
                          "direct_reply_to"}) {
    const amqp::FieldValue* v = caps->AsTable()->Find(cap);
    ASSERT_NE(v, nullptr) << cap;
    EXPECT_EQ(v->type, 't') << cap;
    EXPECT_EQ(v->AsBool(), std::optional<bool>(true)) << cap;
  }
}

TEST_F(ConnectionHandshakeTest, TuneOffersChannelMaxFrameMaxAndTheConfiguredHeartbeat) {
  auto c = AtTune();
  EXPECT_EQ(c->tune().channel_max, 2047);
  EXPECT_EQ(c->tune().frame_max, 131072u);
  EXPECT_EQ(c->tune().heartbeat, kConfiguredHeartbeat);
}

TEST_F(ConnectionHandshakeTest, PlainLoginOpensTheConnection) {
  RawClient c(node_.port());
  ASSERT_TRUE(c.Handshake());
  EXPECT_TRUE(c.OpenChannel(1));
  EXPECT_TRUE(c.DeclareQueue(1, "plain-login"));
  EXPECT_TRUE(c.Close());
}

TEST_F(ConnectionHandshakeTest, AmqplainLoginOpensTheConnection) {
  auto c = StartLogin("AMQPLAIN", RawClient::Amqplain("guest", "guest"));
  auto tune = c->ExpectTune();
  ASSERT_TRUE(tune);
  c->SendTuneOk(tune->channel_max, tune->frame_max, 0);
  c->SendOpen("/");
  ASSERT_TRUE(c->Expect<amqp::ConnectionOpenOk>(0));
  EXPECT_TRUE(c->OpenChannel(1));
  EXPECT_TRUE(c->Close());
}

TEST_F(ConnectionHandshakeTest, ConfiguredUserLogsInToItsVhost) {
  RawClient c(node_.port());
  Login login;
  login.user = "alice";
  login.pass = "secret";
  login.vhost = "other";
  ASSERT_TRUE(c.Handshake(login));
  EXPECT_TRUE(c.OpenChannel(1));
  EXPECT_TRUE(c.Close());
}

// RabbitMQ sends connection.close 403 only to clients that announced the
// authentication_failure_close capability, then closes the socket.
struct RefusedLogin {
  const char* name;
  const char* mechanism;
  std::string response;
};

class RefusedLoginTest : public ConnectionHandshakeTest,
                         public ::testing::WithParamInterface<RefusedLogin> {};

TEST_P(RefusedLoginTest, Gets403ThenEofWithTheCapability) {
  auto c = StartLogin(GetParam().mechanism, GetParam().response, true);
  auto close = c->Expect<amqp::ConnectionClose>(0);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->reply_code, static_cast<uint16_t>(ReplyCode::kAccessRefused));
  EXPECT_EQ(close->reply_text,
            std::string("ACCESS_REFUSED - Login was refused using authentication mechanism ") +
                GetParam().mechanism + ". For details see the broker logfile.");
  EXPECT_TRUE(c->WaitEof());
  EXPECT_EQ(c->pending(), "");
  EXPECT_TRUE(NodeServes(node_.port()));
}

TEST_P(RefusedLoginTest, GetsOnlyEofWithoutTheCapability) {
  auto c = StartLogin(GetParam().mechanism, GetParam().response, false);
  EXPECT_TRUE(c->WaitEof());
  EXPECT_EQ(c->pending(), "") << "a client without authentication_failure_close gets no frame";
  EXPECT_TRUE(NodeServes(node_.port()));
}

INSTANTIATE_TEST_SUITE_P(
    Logins, RefusedLoginTest,
    ::testing::Values(
        RefusedLogin{"plain_bad_password", "PLAIN", RawClient::Plain("guest", "wrong")},
        RefusedLogin{"plain_unknown_user", "PLAIN", RawClient::Plain("mallory", "guest")},
        RefusedLogin{"plain_empty_password", "PLAIN", RawClient::Plain("guest", "")},
        RefusedLogin{"amqplain_bad_password", "AMQPLAIN", RawClient::Amqplain("guest", "x")}),
    [](const auto& info) { return std::string(info.param.name); });

// RabbitMQ builds this close from an error without a method
// (rabbit_reader:auth_fail), so it names class 0, method 0 (checked against
// 3.10); clients print those ids.
TEST_F(ConnectionHandshakeTest, RefusedLoginCloseCarriesNoMethodIdsLikeRabbitMq) {
  auto c = StartLogin("PLAIN", RawClient::Plain("guest", "wrong"));
  EXPECT_TRUE(c->ExpectConnectionClose(403, 0, 0));
}

TEST_F(ConnectionHandshakeTest, UnknownMechanismIsCommandInvalid) {
  auto c = StartLogin("CRAM-MD5", "whatever");
  EXPECT_TRUE(c->ExpectConnectionClose(static_cast<uint16_t>(ReplyCode::kCommandInvalid), 10, 11));
  c->SendMethod(0, amqp::ConnectionCloseOk{});
  EXPECT_TRUE(c->WaitEof());
  EXPECT_TRUE(NodeServes(node_.port()));
}

// tune-ok outside [4096, server frame_max] or above the server's
// channel_max: 530 NOT_ALLOWED.
struct BadTune {
  const char* name;
  uint16_t channel_max;
  uint32_t frame_max;
};

class BadTuneOkTest : public ConnectionHandshakeTest,
                      public ::testing::WithParamInterface<BadTune> {};

TEST_P(BadTuneOkTest, IsNotAllowed) {
  auto c = AtTune();
  c->SendTuneOk(GetParam().channel_max, GetParam().frame_max, 0);
  c->SendOpen("/");
  EXPECT_TRUE(c->ExpectConnectionClose(static_cast<uint16_t>(ReplyCode::kNotAllowed)));
  c->SendMethod(0, amqp::ConnectionCloseOk{});
  EXPECT_TRUE(c->WaitEof());
  EXPECT_TRUE(NodeServes(node_.port()));
}

INSTANTIATE_TEST_SUITE_P(Limits, BadTuneOkTest,
                         ::testing::Values(BadTune{"frame_max_below_4096", 2047, 4095},
                                           BadTune{"frame_max_1", 2047, 1},
                                           BadTune{"frame_max_above_server", 2047, 131073},
                                           BadTune{"channel_max_above_server", 2048, 131072}),
                         [](const auto& info) { return std::string(info.param.name); });

// 0 means "no limit" (spec connection.tune-ok), which is more than this
// server allows. RabbitMQ refuses it too (rabbit_reader:
// validate_negotiated_integer_value: "negotiated frame_max = 0 (no limit) is
// higher than the maximum allowed value"); Warren answers refused tune-oks
// with 530.
TEST_F(ConnectionHandshakeTest, TuneOkWithoutLimitsIsNotAllowed) {
  {
    auto c = AtTune();
    c->SendTuneOk(2047, 0, 0);
    c->SendOpen("/");
    EXPECT_TRUE(c->ExpectConnectionClose(530)) << "frame_max = 0";
  }
  {
    auto c = AtTune();
    c->SendTuneOk(0, 131072, 0);
    c->SendOpen("/");
    EXPECT_TRUE(c->ExpectConnectionClose(530)) << "channel_max = 0";
  }
}

TEST_F(ConnectionHandshakeTest, SmallerLimitsInTuneOkAreAccepted) {
  RawClient c(node_.port());
  Login login;
  login.channel_max = 10;
  login.frame_max = 4096;
  ASSERT_TRUE(c.Handshake(login));
  EXPECT_TRUE(c.OpenChannel(10));
  EXPECT_TRUE(c.Close());
}

TEST_F(ConnectionHandshakeTest, UnknownVhostIsNotAllowed) {
  auto c = AtTune();
  c->SendTuneOk(2047, 131072, 0);
  c->SendOpen("no-such-vhost");
  EXPECT_TRUE(c->ExpectConnectionClose(static_cast<uint16_t>(ReplyCode::kNotAllowed), 10, 40));
  c->SendMethod(0, amqp::ConnectionCloseOk{});
  EXPECT_TRUE(c->WaitEof());
  EXPECT_TRUE(NodeServes(node_.port()));
}

TEST_F(ConnectionHandshakeTest, VhostWithoutPermissionIsNotAllowed) {
  auto c = StartLogin("PLAIN", RawClient::Plain("alice", "secret"));
  ASSERT_TRUE(c->ExpectTune());
  c->SendTuneOk(2047, 131072, 0);
  c->SendOpen("/");
  auto close = c->Expect<amqp::ConnectionClose>(0);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->reply_code, static_cast<uint16_t>(ReplyCode::kNotAllowed));
  EXPECT_EQ(close->class_id, 10);
  EXPECT_EQ(close->method_id, 40);
  EXPECT_NE(close->reply_text.find("alice"), std::string::npos) << close->reply_text;
  c->SendMethod(0, amqp::ConnectionCloseOk{});
  EXPECT_TRUE(c->WaitEof());
  EXPECT_TRUE(NodeServes(node_.port()));
}

// After tune-ok RabbitMQ's reader is in state "opening" and answers any
// channel frame there with 505 UNEXPECTED_FRAME (rabbit_reader:handle_frame;
// checked against 3.10).
TEST_F(ConnectionHandshakeTest, ChannelFrameBeforeConnectionOpenIsUnexpectedLikeRabbitMq) {
  auto c = AtTune();
  c->SendTuneOk(2047, 131072, 0);
  c->SendMethod(1, amqp::ChannelOpen{});
  EXPECT_TRUE(c->ExpectConnectionClose(static_cast<uint16_t>(ReplyCode::kUnexpectedFrame)));
}

TEST_F(ConnectionHandshakeTest, ClientCloseIsAnsweredWithCloseOkThenEof) {
  RawClient c(node_.port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1));
  ASSERT_TRUE(c.OpenChannel(2));
  c.SendMethod(0, amqp::ConnectionClose{200, "Goodbye", 0, 0});
  EXPECT_TRUE(c.Expect<amqp::ConnectionCloseOk>(0));
  EXPECT_TRUE(c.WaitEof());
  EXPECT_EQ(c.pending(), "");
  EXPECT_TRUE(NodeServes(node_.port()));
}

TEST_F(ConnectionHandshakeTest, ExclusiveQueueGoesAwayWithItsConnection) {
  {
    RawClient c(node_.port());
    ASSERT_TRUE(c.Handshake());
    ASSERT_TRUE(c.OpenChannel(1));
    amqp::QueueDeclare d;
    d.queue = "mine";
    d.exclusive = true;
    c.SendMethod(1, d);
    ASSERT_TRUE(c.Expect<amqp::QueueDeclareOk>(1));
    ASSERT_TRUE(c.Close());
  }
  RawClient c(node_.port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1));
  amqp::QueueDeclare passive;
  passive.queue = "mine";
  passive.passive = true;
  c.SendMethod(1, passive);
  EXPECT_TRUE(c.ExpectChannelClose(1, 404, 50, 10));
}

// A start-ok whose frame payload is `size` octets (padded with a client
// property), as `RawClient::SendStartOk` would send it otherwise.
std::string StartOkOfSize(size_t size) {
  amqp::ConnectionStartOk ok;
  ok.mechanism = "PLAIN";
  ok.response = RawClient::Plain("guest", "guest");
  ok.locale = "en_US";
  ok.client_properties.Set("pad", amqp::FieldValue::Str(""));
  std::string frame = MethodFrame(0, ok);
  size_t payload = frame.size() - amqp::kFrameOverhead;
  EXPECT_LE(payload, size);
  ok.client_properties.Set("pad", amqp::FieldValue::Str(std::string(size - payload, 'p')));
  frame = MethodFrame(0, ok);
  EXPECT_EQ(frame.size() - amqp::kFrameOverhead, size);
  return frame;
}

// Until tune-ok, frames are held to the spec's minimum frame size (4096
// octets of payload), as RabbitMQ's initial_frame_max: a client that has
// not logged in cannot make the node buffer frame_max octets.
TEST_F(ConnectionHandshakeTest, StartOkUpToTheMinimumFrameSizeIsAccepted) {
  RawClient c(node_.port());
  c.SendHeader();
  ASSERT_TRUE(c.ExpectStart());
  c.Send(StartOkOfSize(amqp::kFrameMinSize));
  EXPECT_TRUE(c.ExpectTune());
}

TEST_F(ConnectionHandshakeTest, StartOkOverTheMinimumFrameSizeIsAFrameError) {
  RawClient c(node_.port());
  c.SendHeader();
  ASSERT_TRUE(c.ExpectStart());
  c.Send(StartOkOfSize(amqp::kFrameMinSize + 1));
  EXPECT_TRUE(c.ExpectConnectionClose(static_cast<uint16_t>(ReplyCode::kFrameError)));
  EXPECT_TRUE(c.WaitEof());
  EXPECT_TRUE(NodeServes(node_.port()));
}

// A connection-class method the connection's state does not expect is 504
// CHANNEL_ERROR "unexpected method in connection state <state>", as
// RabbitMQ answers it (rabbit_reader:handle_method0; checked against 3.10).
struct OutOfState {
  const char* name;
  bool open;          // complete the handshake first (else stop after tune)
  bool send_tune_ok;  // when not open: answer tune first
  std::string frame;
  uint16_t method_id;
  const char* state;
};

void PrintTo(const OutOfState& o, std::ostream* os) { *os << o.name; }

class OutOfStateTest : public ConnectionHandshakeTest,
                       public ::testing::WithParamInterface<OutOfState> {};

TEST_P(OutOfStateTest, IsAChannelErrorNamingTheState) {
  const OutOfState& p = GetParam();
  std::unique_ptr<RawClient> c;
  if (p.open) {
    c = std::make_unique<RawClient>(node_.port());
    ASSERT_TRUE(c->Handshake());
  } else {
    c = AtTune();
    if (p.send_tune_ok) c->SendTuneOk(2047, 131072, 0);
  }
  c->Send(p.frame);
  auto close = c->Expect<amqp::ConnectionClose>(0);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->reply_code, static_cast<uint16_t>(ReplyCode::kChannelError));
  EXPECT_EQ(close->class_id, 10);
  EXPECT_EQ(close->method_id, p.method_id);
  EXPECT_EQ(close->reply_text,
            std::string("CHANNEL_ERROR - unexpected method in connection state ") + p.state);
  c->SendMethod(0, amqp::ConnectionCloseOk{});
  EXPECT_TRUE(c->WaitEof());
}

amqp::ConnectionOpen OpenSlash() {
  amqp::ConnectionOpen o;
  o.virtual_host = "/";
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    Methods, OutOfStateTest,
    ::testing::Values(
        OutOfState{"second_open", true, false, MethodFrame(0, OpenSlash()), 40, "running"},
        OutOfState{"start_ok_when_running", true, false,
                   MethodFrame(0, amqp::ConnectionStartOk{{}, "PLAIN", "", "en_US"}), 11,
                   "running"},
        OutOfState{"close_ok_with_no_close_to_answer", true, false,
                   MethodFrame(0, amqp::ConnectionCloseOk{}), 51, "running"},
        OutOfState{"connection_blocked_from_the_client", true, false,
                   MethodFrame(0, amqp::ConnectionBlocked{"low on patience"}), 60, "running"},
        OutOfState{"open_before_tune_ok", false, false, MethodFrame(0, OpenSlash()), 40,
                   "tuning"},
        OutOfState{"second_tune_ok", false, true,
                   MethodFrame(0, amqp::ConnectionTuneOk{2047, 131072, 0}), 31, "opening"},
        OutOfState{"update_secret_before_open", false, true,
                   MethodFrame(0, amqp::ConnectionUpdateSecret{"s", "r"}), 70, "opening"}),
    [](const auto& info) { return std::string(info.param.name); });

// Stopping the node closes every connection with 320 CONNECTION_FORCED.
TEST(ServerCloseTest, NodeStopSendsConnectionForced) {
  auto node = std::make_unique<TestNode>();
  RawClient open(node->port());
  ASSERT_TRUE(open.Handshake());
  ASSERT_TRUE(open.OpenChannel(1));
  RawClient idle(node->port());
  ASSERT_TRUE(idle.Handshake());
  node->Stop();
  for (RawClient* c : {&open, &idle}) {
    auto close = c->Expect<amqp::ConnectionClose>(0);
    ASSERT_TRUE(close);
    EXPECT_EQ(close->reply_code, static_cast<uint16_t>(ReplyCode::kConnectionForced));
    EXPECT_EQ(close->reply_text,
              "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'");
    EXPECT_EQ(close->class_id, 0);
    EXPECT_EQ(close->method_id, 0);
    c->SendMethod(0, amqp::ConnectionCloseOk{});
  }
  node.reset();
  EXPECT_TRUE(open.WaitEof());
  EXPECT_TRUE(idle.WaitEof());
}

}  // namespace
}  // namespace warren::protocol_test
