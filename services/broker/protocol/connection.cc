#include "broker/protocol/connection.h"

#include <algorithm>

#include "amqp/constants.h"
#include "amqp/properties.h"
#include "broker/core/broker.h"
#include "broker/core/errors.h"
#include "broker/protocol/channel.h"
#include "common/log.h"
#include "common/text.h"
#include "common/version.h"

namespace warren::protocol {

namespace {

using amqp::FieldTable;
using amqp::FieldValue;
using amqp::ReplyCode;

constexpr int64_t kHandshakeTimeoutMs = 10'000;
constexpr int64_t kCloseOkTimeoutMs = 3'000;
// Error texts quote client names (up to 255 octets each); logged escaped,
// and whole up to this many octets.
constexpr size_t kMaxLoggedErrorText = 1024;
// "AMQP" 1 1 0 9: the 0-9 header, which RabbitMQ serves as 0-9-1.
constexpr std::string_view kProtocolHeader09{"AMQP\x01\x01\x00\x09", 8};

bool IsOurHeader(std::string_view h) {
  return h == amqp::kProtocolHeader || h == kProtocolHeader09;
}

FieldTable ServerProperties(const std::string& cluster_name) {
  FieldTable caps;
  for (const char* c : {"publisher_confirms", "exchange_exchange_bindings", "basic.nack",
                        "consumer_cancel_notify", "connection.blocked", "consumer_priorities",
                        "authentication_failure_close", "per_consumer_qos", "direct_reply_to"})
    caps.Set(c, FieldValue::Bool(true));
  FieldTable p;
  p.Set("capabilities", FieldValue::Table(std::move(caps)));
  p.Set("cluster_name", FieldValue::Str(cluster_name));
  p.Set("copyright", FieldValue::Str("Copyright (c) the Warren authors"));
  p.Set("information", FieldValue::Str("Warren, a RabbitMQ-compatible message broker"));
  p.Set("platform", FieldValue::Str("C++20"));
  p.Set("product", FieldValue::Str("Warren"));
  p.Set("version", FieldValue::Str(kWarrenVersion));
  return p;
}

// PLAIN: "\0user\0password" (RFC 4616, authzid ignored).
bool ParsePlain(std::string_view response, std::string& user, std::string& pass) {
  size_t a = response.find('\0');
  if (a == std::string_view::npos) return false;
  size_t b = response.find('\0', a + 1);
  if (b == std::string_view::npos) return false;
  user = response.substr(a + 1, b - a - 1);
  pass = response.substr(b + 1);
  return true;
}

// AMQPLAIN: a field table without its length prefix, with LOGIN and PASSWORD.
bool ParseAmqplain(std::string_view response, std::string& user, std::string& pass) {
  FieldTable t;
  if (!amqp::DecodeTableEntries(response, t)) return false;
  const FieldValue* l = t.Find("LOGIN");
  const FieldValue* p = t.Find("PASSWORD");
  if (!l || !p || !l->AsString() || !p->AsString()) return false;
  user = *l->AsString();
  pass = *p->AsString();
  return true;
}

// Class and method ids from the start of a method payload, for the close
// that reports a method we could not decode.
void PeekIds(std::string_view payload, uint16_t& cls, uint16_t& mth) {
  cls = mth = 0;
  if (payload.size() < 4) return;
  auto u16 = [&](size_t at) {
    return static_cast<uint16_t>((uint8_t(payload[at]) << 8) | uint8_t(payload[at + 1]));
  };
  cls = u16(0);
  mth = u16(2);
}

// Reply texts are short strings (255 octets). As RabbitMQ, a longer one is
// cut to 252 and ends in "..."; here the cut falls between UTF-8 characters,
// so a text that was UTF-8 (a queue name in it, say) stays UTF-8.
std::string ReplyText(const std::string& text) {
  if (text.size() <= 255) return text;
  size_t cut = 252;
  while (cut > 0 && (static_cast<uint8_t>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

// RabbitMQ's names for the connection states, used in its error texts.
const char* StateName(Connection::State s) {
  switch (s) {
    case Connection::State::kAwaitingHeader:
    case Connection::State::kAwaitingStartOk: return "starting";
    case Connection::State::kAwaitingTuneOk: return "tuning";
    case Connection::State::kAwaitingOpen: return "opening";
    case Connection::State::kOpen: return "running";
    case Connection::State::kClosing: return "closing";
    case Connection::State::kClosed: return "closed";
  }
  return "unknown";
}

Error UndecodableMethod(amqp::MethodDecode r) {
  return r == amqp::MethodDecode::kUnknownMethod
             ? core::AmqpError(ReplyCode::kNotImplemented, "unknown method")
             : core::AmqpError(ReplyCode::kFrameError, "cannot decode method frame");
}

}  // namespace

Connection::Connection(core::Broker& broker, ConnectionIo& io, PeerInfo peer)
    : broker_(broker), io_(io), peer_(std::move(peer)), id_(broker.NextConnectionId()),
      channel_max_(broker.config().channel_max), frame_max_(broker.config().frame_max),
      alive_(std::make_shared<bool>(true)) {
  ++broker_.counters().connections_opened;
  last_recv_ms_ = runtime().NowMs();
  connected_at_ms_ = runtime().WallSeconds() * 1000;
  std::weak_ptr<bool> alive = alive_;
  handshake_timer_ = runtime().ScheduleAfter(kHandshakeTimeoutMs, [this, alive] {
    if (alive.expired()) return;
    handshake_timer_ = 0;
    if (state_ == State::kOpen || state_ == State::kClosed) return;
    spdlog::warn("closing connection {}:{}: handshake timeout", peer_.host, peer_.port);
    state_ = State::kClosed;
    io_.CloseAfterFlush();
  });
}

Connection::~Connection() {
  Teardown();
  *alive_ = false;
}

Runtime& Connection::runtime() { return broker_.runtime(); }

bool Connection::client_has(std::string_view capability) const {
  const FieldValue* v = client_capabilities_.Find(capability);
  return v && v->AsBool().value_or(false);
}

size_t Connection::OnData(std::string_view data) {
  size_t used = Consume(data);
  received_ += used;
  return used;
}

size_t Connection::Consume(std::string_view data) {
  last_recv_ms_ = runtime().NowMs();
  // After a framing error the byte stream has no frame boundaries left:
  // drop everything until the peer closes or answers close-ok in time.
  if (input_broken_) return data.size();
  size_t used = 0;
  if (state_ == State::kAwaitingHeader) {
    if (data.size() < amqp::kProtocolHeader.size()) {
      // A short prefix that cannot become our header is already wrong.
      if (amqp::kProtocolHeader.substr(0, data.size()) == data ||
          kProtocolHeader09.substr(0, data.size()) == data)
        return 0;
    }
    if (!HandleHeader(data)) return data.size();
    used = amqp::kProtocolHeader.size();
  }
  // A metadata change in flight holds the rest of the input (Submit).
  while (state_ != State::kClosed && used < data.size() && holds_ == 0) {
    amqp::FrameView frame;
    size_t consumed = 0;
    amqp::FrameError error;
    auto r = amqp::DecodeFrame(data.substr(used), input_frame_max(), frame, consumed, error);
    if (r == amqp::FrameDecode::kNeedMore) break;
    if (r == amqp::FrameDecode::kError) {
      input_broken_ = true;
      Fail(0, Error{error.reply_code, error.text}, 0, 0);
      return data.size();
    }
    used += consumed;
    dispatching_ = true;
    HandleFrame(frame);
    dispatching_ = false;
    SendOwedCancels();
  }
  for (uint16_t n : confirms_owed_)
    if (auto it = channels_.find(n); it != channels_.end()) it->second->FlushConfirms();
  confirms_owed_.clear();
  if (block_after_batch_) {
    block_after_batch_ = false;
    if (broker_.alarmed()) Block();
  }
  if (holds_ > 0) io_.SetReading(false);
  io_.RequestFlush();
  return state_ == State::kClosed ? data.size() : used;
}

bool Connection::HandleHeader(std::string_view data) {
  if (!IsOurHeader(data.substr(0, amqp::kProtocolHeader.size()))) {
    // Spec 4.2.2: answer a protocol we do not speak with the one we do.
    out_.append(amqp::kProtocolHeader);
    state_ = State::kClosed;
    io_.CloseAfterFlush();
    return false;
  }
  amqp::ConnectionStart start;
  start.version_major = 0;
  start.version_minor = 9;
  start.server_properties = ServerProperties(broker_.ClusterName());
  // EXTERNAL (RabbitMQ's rabbitmq_auth_mechanism_ssl) only to a client
  // whose certificate the TLS handshake verified.
  start.mechanisms = peer_.cert_login.empty() ? "PLAIN AMQPLAIN" : "PLAIN AMQPLAIN EXTERNAL";
  start.locales = "en_US";
  amqp::AppendMethodFrame(out_, 0, start);
  state_ = State::kAwaitingStartOk;
  return true;
}

void Connection::HandleFrame(const amqp::FrameView& frame) {
  if (frame.type == amqp::kFrameHeartbeat) {
    if (!frame.payload.empty())
      Fail(0, core::AmqpError(ReplyCode::kFrameError, "heartbeat frame with a payload"), 0, 0);
    else if (frame.channel != 0)
      Fail(0, core::AmqpError(ReplyCode::kUnexpectedFrame, "heartbeat frame on channel " +
                                                               std::to_string(frame.channel)),
           0, 0);
    return;
  }
  if (frame.channel != 0) {
    if (state_ == State::kOpen) HandleChannelFrame(frame);
    else if (state_ != State::kClosing)
      Fail(0, core::AmqpError(ReplyCode::kUnexpectedFrame, "channel frame before connection.open"),
           0, 0);
    return;
  }
  if (frame.type != amqp::kFrameMethod) {
    Fail(0, core::AmqpError(ReplyCode::kUnexpectedFrame, "content frame on channel 0"), 0, 0);
    return;
  }
  amqp::Method method;
  auto r = amqp::DecodeMethod(frame.payload, method);
  if (r != amqp::MethodDecode::kOk) {
    uint16_t cls, mth;
    PeekIds(frame.payload, cls, mth);
    Fail(0, UndecodableMethod(r), cls, mth);
    return;
  }
  HandleConnectionMethod(method);
}

void Connection::HandleConnectionMethod(amqp::Method& method) {
  uint16_t cls = amqp::ClassIdOf(method), mth = amqp::MethodIdOf(method);
  if (state_ == State::kClosing) {
    // Spec 4.2.2 connection.close: discard all but close and close-ok.
    if (std::holds_alternative<amqp::ConnectionCloseOk>(method) ||
        std::holds_alternative<amqp::ConnectionClose>(method)) {
      if (std::holds_alternative<amqp::ConnectionClose>(method))
        amqp::AppendMethodFrame(out_, 0, amqp::ConnectionCloseOk{});
      state_ = State::kClosed;
      io_.CloseAfterFlush();
    }
    return;
  }
  // As RabbitMQ: a method the connection's state does not expect (a second
  // connection.open, close-ok with no close to answer, connection.blocked,
  // which only a server sends, a channel-class method on channel 0) is a
  // CHANNEL_ERROR naming the state.
  auto unexpected = [&] {
    Fail(0, core::AmqpError(ReplyCode::kChannelError,
                            std::string("unexpected method in connection state ") +
                                StateName(state_)),
         cls, mth);
  };
  auto in = [&](State s) {
    bool expected = state_ == s;
    if (!expected) unexpected();
    return expected;
  };
  if (auto* m = std::get_if<amqp::ConnectionStartOk>(&method)) {
    if (in(State::kAwaitingStartOk)) HandleStartOk(*m);
  } else if (auto* m = std::get_if<amqp::ConnectionTuneOk>(&method)) {
    if (in(State::kAwaitingTuneOk)) HandleTuneOk(*m);
  } else if (auto* m = std::get_if<amqp::ConnectionOpen>(&method)) {
    if (in(State::kAwaitingOpen)) HandleOpen(*m);
  } else if (std::holds_alternative<amqp::ConnectionClose>(method)) {
    amqp::AppendMethodFrame(out_, 0, amqp::ConnectionCloseOk{});
    Teardown();
    state_ = State::kClosed;
    io_.CloseAfterFlush();
  } else if (std::holds_alternative<amqp::ConnectionUpdateSecret>(method)) {
    if (in(State::kOpen)) amqp::AppendMethodFrame(out_, 0, amqp::ConnectionUpdateSecretOk{});
  } else {
    unexpected();
  }
}

void Connection::HandleStartOk(amqp::ConnectionStartOk& m) {
  client_properties_ = std::move(m.client_properties);
  if (const FieldValue* caps = client_properties_.Find("capabilities"); caps && caps->AsTable())
    client_capabilities_ = *caps->AsTable();
  std::string user, pass;
  bool parsed;
  bool external = false;
  if (m.mechanism == "PLAIN") {
    parsed = ParsePlain(m.response, user, pass);
  } else if (m.mechanism == "AMQPLAIN") {
    parsed = ParseAmqplain(m.response, user, pass);
  } else if (m.mechanism == "EXTERNAL" && !peer_.cert_login.empty()) {
    // The certificate is the credential: the user named by its CN must
    // exist; the response (an authorization identity) is ignored, as
    // RabbitMQ does.
    user = peer_.cert_login;
    parsed = external = true;
  } else {
    Fail(0, core::AmqpError(ReplyCode::kCommandInvalid,
                            "unknown authentication mechanism '" + m.mechanism + "'"),
         10, 11);
    return;
  }
  if (!parsed) {
    RefuseLogin("ACCESS_REFUSED - Login was refused using authentication mechanism " +
                m.mechanism + ". For details see the broker logfile.");
    return;
  }
  if (external ? !broker_.FindUser(user) : !broker_.Authenticate(user, pass)) {
    spdlog::warn("login refused for user '{}' from {}:{}: {}", LogSafe(user), peer_.host,
                 peer_.port,
                 external ? "no such user (EXTERNAL, the certificate's CN)" : "invalid credentials");
    RefuseLogin("ACCESS_REFUSED - Login was refused using authentication mechanism " +
                m.mechanism + ". For details see the broker logfile.");
    return;
  }
  if (broker_.IsLoopbackOnly(user) && !peer_.loopback) {
    spdlog::warn("login refused for user '{}' from {}: it may only connect via localhost",
                 LogSafe(user), peer_.host);
    RefuseLogin("ACCESS_REFUSED - Login was refused using authentication mechanism " +
                m.mechanism + ". For details see the broker logfile.");
    return;
  }
  user_ = user;
  auth_mechanism_ = m.mechanism;
  amqp::ConnectionTune tune;
  tune.channel_max = channel_max_;
  tune.frame_max = frame_max_;
  tune.heartbeat = broker_.config().heartbeat;
  amqp::AppendMethodFrame(out_, 0, tune);
  state_ = State::kAwaitingTuneOk;
}

void Connection::RefuseLogin(const std::string& text) {
  // RabbitMQ sends connection.close only to clients that announced
  // authentication_failure_close; others just see the socket close.
  if (client_has("authentication_failure_close")) {
    amqp::ConnectionClose close;
    close.reply_code = static_cast<uint16_t>(ReplyCode::kAccessRefused);
    close.reply_text = text;
    amqp::AppendMethodFrame(out_, 0, close);  // class and method 0, as RabbitMQ
  }
  state_ = State::kClosed;
  io_.CloseAfterFlush();
}

void Connection::HandleTuneOk(const amqp::ConnectionTuneOk& m) {
  uint16_t server_channel_max = broker_.config().channel_max;
  uint32_t server_frame_max = broker_.config().frame_max;
  if (server_channel_max != 0 && (m.channel_max == 0 || m.channel_max > server_channel_max)) {
    Fail(0, core::AmqpError(ReplyCode::kNotAllowed,
                            "negotiated channel_max = " + std::to_string(m.channel_max) +
                                " is higher than the maximum allowed value (" +
                                std::to_string(server_channel_max) + ")"),
         10, 31);
    return;
  }
  if (m.frame_max != 0 && m.frame_max < amqp::kFrameMinSize) {
    Fail(0, core::AmqpError(ReplyCode::kNotAllowed,
                            "frame_max=" + std::to_string(m.frame_max) + " < " +
                                std::to_string(amqp::kFrameMinSize) + " min size"),
         10, 31);
    return;
  }
  if (server_frame_max != 0 && (m.frame_max == 0 || m.frame_max > server_frame_max)) {
    Fail(0, core::AmqpError(ReplyCode::kNotAllowed,
                            "frame_max=" + std::to_string(m.frame_max) + " > " +
                                std::to_string(server_frame_max) + " max size"),
         10, 31);
    return;
  }
  channel_max_ = m.channel_max == 0 ? server_channel_max : m.channel_max;
  frame_max_ = m.frame_max == 0 ? server_frame_max : m.frame_max;
  heartbeat_ = m.heartbeat;
  tuned_ = true;
  state_ = State::kAwaitingOpen;
  StartHeartbeats();
}

void Connection::HandleOpen(const amqp::ConnectionOpen& m) {
  core::VHost* vhost = VHostToOpen(m.virtual_host, nullptr);
  if (!vhost) return;
  if (vhost->limits().max_connections < 0 && !broker_.UserLimit(user_, core::kMaxConnections)) {
    Open(vhost);
    return;
  }
  // A limit counts the whole cluster's connections: held until every
  // member has answered (docs/access.md, "Limits in a cluster").
  Resume resume = Hold();
  broker_.ClusterCensus(m.virtual_host, user_,
                        [this, resume, name = m.virtual_host](core::ConnectionCensus census) {
                          resume([&] {
                            if (core::VHost* v = VHostToOpen(name, &census)) Open(v);
                          });
                        });
}

core::VHost* Connection::VHostToOpen(const std::string& name,
                                     const core::ConnectionCensus* census) {
  core::VHost* vhost = broker_.FindVHost(name);
  if (!vhost || !broker_.CanAccessVHost(user_, name)) {
    Fail(0, core::AmqpError(ReplyCode::kNotAllowed,
                            vhost ? "access to vhost '" + name + "' refused for user '" + user_ +
                                        "'"
                                  : "vhost " + name + " not found"),
         10, 40);
    return nullptr;
  }
  if (!census) return vhost;
  // RabbitMQ's vhost connection limit.
  if (int64_t limit = vhost->limits().max_connections;
      limit >= 0 && census->vhost_connections >= static_cast<uint64_t>(limit)) {
    Fail(0, core::AmqpError(ReplyCode::kNotAllowed,
                            "access to vhost '" + name + "' refused for user '" + user_ +
                                "': connection limit (" + std::to_string(limit) + ") is reached"),
         10, 40);
    return nullptr;
  }
  // The user's connection limit; as RabbitMQ checks it, after the vhost's.
  if (auto limit = broker_.UserLimit(user_, core::kMaxConnections);
      limit && census->user_connections >= static_cast<uint64_t>(*limit)) {
    Fail(0, core::AmqpError(ReplyCode::kNotAllowed,
                            "connection refused for user '" + user_ +
                                "': user connection limit (" + std::to_string(*limit) +
                                ") is reached"),
         10, 40);
    return nullptr;
  }
  return vhost;
}

void Connection::Open(core::VHost* vhost) {
  vhost_ = vhost;
  vhost_->ConnectionOpened();
  state_ = State::kOpen;
  broker_.AddAlarmListener(this);
  broker_.RegisterClient(id_, this);
  runtime().Cancel(handshake_timer_);
  handshake_timer_ = 0;
  amqp::AppendMethodFrame(out_, 0, amqp::ConnectionOpenOk{});
}

void Connection::OpenChannel(uint16_t number, const core::ConnectionCensus* census) {
  if (auto limit = broker_.UserLimit(user_, core::kMaxChannels);
      limit && census && census->user_channels >= static_cast<uint64_t>(*limit)) {
    Fail(0, core::AmqpError(ReplyCode::kNotAllowed,
                            "number of channels opened for user '" + user_ +
                                "' has reached the maximum allowed user limit of (" +
                                std::to_string(*limit) + ")"),
         amqp::ChannelOpen::kClassId, amqp::ChannelOpen::kMethodId);
    return;
  }
  channels_[number] = std::make_unique<Channel>(*this, number);
  amqp::AppendMethodFrame(out_, number, amqp::ChannelOpenOk{});
}

void Connection::HandleChannelFrame(const amqp::FrameView& frame) {
  uint16_t number = frame.channel;
  if (number > channel_max_) {
    Fail(0, core::AmqpError(ReplyCode::kNotAllowed,
                            "channel " + std::to_string(number) + " exceeds channel_max " +
                                std::to_string(channel_max_)),
         0, 0);
    return;
  }
  auto it = channels_.find(number);
  Channel* ch = it == channels_.end() ? nullptr : it->second.get();
  if (frame.type == amqp::kFrameHeader || frame.type == amqp::kFrameBody) {
    if (ch && ch->closing()) return;
    if (!ch || !ch->expecting_content()) {
      Fail(number, core::AmqpError(ReplyCode::kUnexpectedFrame,
                                   "expected method frame, got non method frame instead"),
           0, 0);
      return;
    }
    Status s = frame.type == amqp::kFrameHeader ? ch->OnContentHeader(frame.payload)
                                                : ch->OnContentBody(frame.payload);
    if (!s.ok()) Fail(number, s.error(), 60, 40);
    return;
  }
  amqp::Method method;
  auto r = amqp::DecodeMethod(frame.payload, method);
  uint16_t cls, mth;
  PeekIds(frame.payload, cls, mth);
  if (r != amqp::MethodDecode::kOk) {
    Fail(0, UndecodableMethod(r), cls, mth);
    return;
  }
  if (cls == 10) {
    Fail(0, core::AmqpError(ReplyCode::kCommandInvalid,
                            std::string(amqp::MethodName(cls, mth)) + " on channel " +
                                std::to_string(number)),
         cls, mth);
    return;
  }
  if (std::holds_alternative<amqp::ChannelOpen>(method)) {
    if (ch) {
      Fail(0, core::AmqpError(ReplyCode::kChannelError,
                              "second 'channel.open' seen on channel " + std::to_string(number)),
           cls, mth);
      return;
    }
    if (!broker_.UserLimit(user_, core::kMaxChannels)) {
      OpenChannel(number, nullptr);
      return;
    }
    // The user's channels on every member count (docs/access.md).
    Resume resume = Hold();
    broker_.ClusterCensus(vhost_->name(), user_, [this, resume, number](core::ConnectionCensus c) {
      resume([&] { OpenChannel(number, &c); });
    });
    return;
  }
  if (!ch) {
    Fail(0, core::AmqpError(ReplyCode::kChannelError, "expected 'channel.open'"), cls, mth);
    return;
  }
  if (ch->closing()) {
    // Spec 4.2.2 channel.close: discard all but close and close-ok.
    if (std::holds_alternative<amqp::ChannelCloseOk>(method)) {
      CloseChannelDone(number);
    } else if (std::holds_alternative<amqp::ChannelClose>(method)) {
      amqp::AppendMethodFrame(out_, number, amqp::ChannelCloseOk{});
    }
    return;
  }
  if (ch->expecting_content() && !std::holds_alternative<amqp::ChannelClose>(method)) {
    // Reported against the basic.publish still waiting for its content.
    Fail(0, core::AmqpError(ReplyCode::kUnexpectedFrame,
                            "expected content header for class 60, got non content header "
                            "frame instead"),
         amqp::BasicPublish::kClassId, amqp::BasicPublish::kMethodId);
    return;
  }
  if (std::holds_alternative<amqp::ChannelClose>(method)) {
    ch->Shutdown();
    channels_.erase(number);
    amqp::AppendMethodFrame(out_, number, amqp::ChannelCloseOk{});
    return;
  }
  if (std::holds_alternative<amqp::ChannelCloseOk>(method)) return;
  Status s = ch->OnMethod(method);
  if (!s.ok()) Fail(number, s.error(), cls, mth);
}

void Connection::Fail(uint16_t channel, const Error& error, uint16_t class_id,
                      uint16_t method_id) {
  auto code = static_cast<ReplyCode>(error.code);
  auto it = channels_.find(channel);
  if (channel != 0 && !amqp::IsConnectionError(code) && it != channels_.end()) {
    spdlog::debug("channel error on {}:{} channel {}: {}", peer_.host, peer_.port, channel,
                  LogSafe(error.text, kMaxLoggedErrorText));
    Channel& ch = *it->second;
    ch.Shutdown();
    ch.MarkClosing();
    amqp::ChannelClose close;
    close.reply_code = error.code;
    close.reply_text = ReplyText(error.text);
    close.class_id = class_id;
    close.method_id = method_id;
    amqp::AppendMethodFrame(out_, channel, close);
    io_.RequestFlush();
    return;
  }
  spdlog::info("closing connection {}:{}: {}", peer_.host, peer_.port,
               LogSafe(error.text, kMaxLoggedErrorText));
  SendClose(error.code, error.text, class_id, method_id);
}

void Connection::SendClose(uint16_t code, const std::string& text, uint16_t class_id,
                           uint16_t method_id) {
  if (state_ == State::kClosing || state_ == State::kClosed) return;
  Teardown();
  if (state_ == State::kAwaitingHeader) {
    state_ = State::kClosed;
    io_.CloseAfterFlush();
    return;
  }
  amqp::ConnectionClose close;
  close.reply_code = code;
  close.reply_text = ReplyText(text);
  close.class_id = class_id;
  close.method_id = method_id;
  amqp::AppendMethodFrame(out_, 0, close);
  state_ = State::kClosing;
  io_.RequestFlush();
  if (blocked_ || holds_ > 0) {
    // The alarm and the changes in flight no longer matter (everything but
    // close and close-ok is discarded now), and Teardown took us off the
    // alarm's listeners: read again so the client's close-ok can arrive.
    blocked_ = sent_blocked_ = false;
    holds_ = 0;
    io_.SetReading(true);
  }
  std::weak_ptr<bool> alive = alive_;
  closing_timer_ = runtime().ScheduleAfter(kCloseOkTimeoutMs, [this, alive] {
    if (alive.expired()) return;
    closing_timer_ = 0;
    if (state_ != State::kClosed) {
      state_ = State::kClosed;
      io_.CloseAfterFlush();
    }
  });
}

void Connection::Close(uint16_t code, const std::string& text) { SendClose(code, text, 0, 0); }

void Connection::CloseChannelDone(uint16_t channel) { channels_.erase(channel); }

void Connection::NotifyConsumerCancelled(uint16_t channel, const std::string& tag) {
  cancels_owed_.emplace_back(channel, tag);
  if (!dispatching_) SendOwedCancels();
}

void Connection::SendOwedCancels() {
  if (cancels_owed_.empty()) return;
  std::vector<std::pair<uint16_t, std::string>> owed;
  owed.swap(cancels_owed_);
  if (state_ != State::kOpen) return;
  for (auto& [number, tag] : owed) {
    // Not to a channel that closed meanwhile (spec 4.2.2: after channel.close
    // only close and close-ok).
    auto it = channels_.find(number);
    if (it == channels_.end() || it->second->closing()) continue;
    amqp::AppendMethodFrame(out_, number, amqp::BasicCancel{std::move(tag), true});
  }
  io_.RequestFlush();
}

std::string Connection::name() const {
  return peer_.host + ":" + std::to_string(peer_.port) + " -> " + peer_.local_host + ":" +
         std::to_string(peer_.local_port);
}

core::ConnectionInfo Connection::Describe() const {
  core::ConnectionInfo info;
  info.id = id_;
  info.name = name();
  info.user = user_;
  info.vhost = vhost_ ? vhost_->name() : "";
  info.peer_host = peer_.host;
  info.peer_port = peer_.port;
  info.ssl = peer_.tls;
  info.ssl_protocol = peer_.tls_protocol;
  info.ssl_cipher = peer_.tls_cipher;
  info.peer_cert_subject = peer_.cert_subject;
  info.auth_mechanism = auth_mechanism_;
  info.state = state_ == State::kOpen ? (blocked_ ? "blocked" : "running") : "closing";
  info.client_properties = client_properties_;
  info.frame_max = frame_max_;
  info.heartbeat = heartbeat_;
  info.channel_max = channel_max_;
  info.recv_oct = received_;
  info.send_oct = io_.BytesWritten();
  info.recv_cnt = io_.Reads();
  info.send_cnt = io_.Writes();
  info.send_pend = io_.Backlog();
  info.connected_at_ms = connected_at_ms_;
  info.channels.reserve(channels_.size());
  for (const auto& [n, ch] : channels_) info.channels.push_back(ch->Describe());
  std::sort(info.channels.begin(), info.channels.end(),
            [](const auto& a, const auto& b) { return a.number < b.number; });
  return info;
}

void Connection::ForceClose(const std::string& reason) {
  Close(static_cast<uint16_t>(ReplyCode::kConnectionForced), "CONNECTION_FORCED - " + reason);
}

void Connection::StartHeartbeats() {
  if (heartbeat_ == 0) return;
  int64_t tick_ms = heartbeat_ * 1000 / 2;
  std::weak_ptr<bool> alive = alive_;
  heartbeat_timer_ = runtime().ScheduleAfter(tick_ms, [this, alive] {
    if (alive.expired()) return;
    heartbeat_timer_ = 0;
    HeartbeatTick();
  });
}

void Connection::HeartbeatTick() {
  if (state_ == State::kClosed) return;
  int64_t now = runtime().NowMs();
  if (!blocked_ && holds_ == 0 && now - last_recv_ms_ >= int64_t{heartbeat_} * 2000) {
    // Two intervals without a byte from the peer: it is gone.
    spdlog::warn("closing connection {}:{}: missed heartbeats from client, timeout: {}s",
                 peer_.host, peer_.port, heartbeat_);
    Teardown();
    state_ = State::kClosed;
    io_.CloseAfterFlush();
    return;
  }
  // Send a heartbeat unless frames went out since the last tick.
  if (io_.BytesWritten() == written_at_last_tick_ && io_.Backlog() == 0) {
    amqp::AppendHeartbeat(out_);
    io_.RequestFlush();
  }
  written_at_last_tick_ = io_.BytesWritten();
  StartHeartbeats();
}

void Connection::OnDrained() {
  if (!deliveries_paused_ || state_ != State::kOpen) return;
  deliveries_paused_ = false;
  for (auto& [n, ch] : channels_) ch->ResumeDeliveries();
}

void Connection::OnTransportClosed() {
  Teardown();
  state_ = State::kClosed;
}

void Connection::OnAlarmChanged(bool on) {
  if (!on) Unblock();
  else if (published_) Block();
}

void Connection::Block() {
  if (blocked_ || state_ != State::kOpen) return;
  blocked_ = true;
  if (client_has("connection.blocked")) {
    amqp::ConnectionBlocked m;
    m.reason = broker_.alarm_on(core::Alarm::kMemory) ? "low on memory" : "low on disk";
    amqp::AppendMethodFrame(out_, 0, m);
    sent_blocked_ = true;
  }
  io_.SetReading(false);
  io_.RequestFlush();
}

void Connection::Unblock() {
  if (!blocked_) return;
  blocked_ = false;
  // After our connection.close only close-ok may follow; reading resumes so
  // that it can arrive.
  if (sent_blocked_ && state_ == State::kOpen)
    amqp::AppendMethodFrame(out_, 0, amqp::ConnectionUnblocked{});
  sent_blocked_ = false;
  io_.RequestFlush();
  ResumeReading();
}

void Connection::ResumeReading() {
  if (blocked_ || holds_ > 0 || state_ == State::kClosed) return;
  // Time spent not reading does not count against the client's heartbeats.
  last_recv_ms_ = runtime().NowMs();
  io_.SetReading(true);
}

Connection::Resume Connection::Hold() {
  ++holds_;
  std::weak_ptr<bool> alive = alive_;
  return [this, alive](const std::function<void()>& reply) {
    if (alive.expired()) return;
    if (holds_ > 0) --holds_;
    // connection.open waits too (a connection limit across the cluster).
    if (state_ != State::kOpen && state_ != State::kAwaitingOpen) return;
    // Answered while its frame is handled (a node alone): the frame's own
    // dispatch sends the reply and reads on.
    if (dispatching_) {
      reply();
      return;
    }
    dispatching_ = true;
    reply();
    dispatching_ = false;
    SendOwedCancels();
    io_.RequestFlush();
    ResumeReading();
  };
}

void Connection::Teardown() {
  if (torn_down_) return;
  torn_down_ = true;
  broker_.RemoveAlarmListener(this);
  broker_.UnregisterClient(id_);
  runtime().Cancel(heartbeat_timer_);
  runtime().Cancel(handshake_timer_);
  heartbeat_timer_ = handshake_timer_ = 0;
  for (auto& [n, ch] : channels_) ch->Shutdown();
  channels_.clear();
  if (vhost_) {
    vhost_->DeleteExclusiveQueues(id_);
    vhost_->ConnectionClosed();
  }
  ++broker_.counters().connections_closed;
}

}  // namespace warren::protocol
