// Harness for the protocol component tests (docs/testing.md "Tiers", tier
// 2): a real Node on 127.0.0.1:0 running on its own thread, and a blocking
// POSIX-socket client that writes raw bytes and reads frames back through the
// codec. Every wait has a deadline (poll, with SO_RCVTIMEO as a backstop), so
// a broker that stops answering fails the test instead of hanging it;
// nothing sleeps to synchronise.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "amqp/constants.h"
#include "amqp/field_table.h"
#include "amqp/frame.h"
#include "amqp/methods.h"
#include "amqp/properties.h"
#include "amqp/wire.h"
#include "broker/node.h"

namespace warren::protocol_test {

using Millis = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// How long one expected frame may take. Generous: CI machines are slow, and
// a passing test never waits for it.
inline constexpr Millis kWait{5000};
// A framing error leaves the broker unable to read close-ok, so it closes
// the socket after its own close-ok timeout (3 s in Warren and RabbitMQ).
inline constexpr Millis kEofWait{8000};

// ---------------------------------------------------------------------------
// The node.

// Starts a Node (data_dir in a fresh temporary directory, AMQP on
// 127.0.0.1:0) on a thread; Stop() or the destructor stops and joins it.
class TestNode {
 public:
  using Tweak = std::function<void(NodeConfig&)>;
  // Runs after Start(), before the loop thread exists (e.g. to set a gate).
  using Prepare = std::function<void(Node&)>;

  explicit TestNode(const Tweak& tweak = {}, const Prepare& prepare = {}) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "warren-proto-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    NodeConfig config;
    config.node_name = "warren@proto-test";
    if (tweak) tweak(config);
    config.amqp_listen = "127.0.0.1:0";
    config.grpc_listen = "127.0.0.1:0";
    config.data_dir = dir_.string();
    node_ = std::make_unique<Node>(config);
    node_->Start();
    port_ = node_->amqp_port();  // read before the loop thread exists
    if (prepare) prepare(*node_);
    thread_ = std::thread([n = node_.get()] { n->Run(); });
  }
  ~TestNode() {
    Stop();
    node_.reset();  // closes whatever sockets are left
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TestNode(const TestNode&) = delete;
  TestNode& operator=(const TestNode&) = delete;

  uint16_t port() const { return port_; }
  // Sends 320 CONNECTION_FORCED to every connection, stops the loop, joins.
  void Stop() {
    if (!thread_.joinable()) return;
    node_->Stop();
    thread_.join();
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Node> node_;
  std::thread thread_;
  uint16_t port_ = 0;
};

// ---------------------------------------------------------------------------
// Building frames.

inline std::string RawFrame(uint8_t type, uint16_t channel, std::string_view payload,
                            uint8_t end = amqp::kFrameEnd) {
  std::string out;
  amqp::Writer w(out);
  w.U8(type);
  w.U16(channel);
  w.U32(static_cast<uint32_t>(payload.size()));
  w.Bytes(payload);
  w.U8(end);
  return out;
}

// A frame header announcing `size` payload octets, without the payload.
inline std::string FrameHeaderOnly(uint8_t type, uint16_t channel, uint32_t size) {
  std::string out;
  amqp::Writer w(out);
  w.U8(type);
  w.U16(channel);
  w.U32(size);
  return out;
}

inline std::string MethodPayload(uint16_t class_id, uint16_t method_id, std::string_view args) {
  std::string out;
  amqp::Writer w(out);
  w.U16(class_id);
  w.U16(method_id);
  w.Bytes(args);
  return out;
}

template <class M>
std::string MethodFrame(uint16_t channel, const M& m) {
  std::string out;
  amqp::AppendMethodFrame(out, channel, m);
  return out;
}

// A content header payload: class id, weight 0, body size, then the property
// flags and properties exactly as given.
inline std::string HeaderPayload(uint64_t body_size, std::string_view raw_properties,
                                 uint16_t class_id = 60) {
  std::string out;
  amqp::Writer w(out);
  w.U16(class_id);
  w.U16(0);
  w.U64(body_size);
  w.Bytes(raw_properties);
  return out;
}

// Property flags with no property set.
inline std::string NoProperties() { return std::string(2, '\0'); }

// basic.publish, its content header and body frames cut at frame_max.
inline std::string PublishFrames(uint16_t channel, const std::string& exchange,
                                 const std::string& routing_key, std::string_view body,
                                 std::string_view raw_properties = {"\0\0", 2},
                                 uint32_t frame_max = 131072, bool mandatory = false) {
  amqp::BasicPublish p;
  p.exchange = exchange;
  p.routing_key = routing_key;
  p.mandatory = mandatory;
  std::string out = MethodFrame(channel, p);
  amqp::AppendContent(out, channel, 60, raw_properties, body, frame_max);
  return out;
}

// queue.declare arguments (ticket, name, flags) followed by `table` as given.
inline std::string QueueDeclareArgs(const std::string& queue, std::string_view table) {
  std::string out;
  amqp::Writer w(out);
  w.U16(0);
  w.ShortStr(queue);
  w.U8(0);
  w.Bytes(table);
  return out;
}

// ---------------------------------------------------------------------------
// Reading frames.

struct Frame {
  uint8_t type = 0;
  uint16_t channel = 0;
  std::string payload;
  amqp::Method method;  // set for method frames that decode
};

inline std::string Describe(const Frame& f) {
  std::ostringstream s;
  s << "frame type " << int(f.type) << " on channel " << f.channel;
  if (f.type == amqp::kFrameMethod) {
    s << ": " << amqp::MethodName(amqp::ClassIdOf(f.method), amqp::MethodIdOf(f.method));
    if (auto* c = std::get_if<amqp::ConnectionClose>(&f.method))
      s << " " << c->reply_code << " '" << c->reply_text << "' (" << c->class_id << ","
        << c->method_id << ")";
    if (auto* c = std::get_if<amqp::ChannelClose>(&f.method))
      s << " " << c->reply_code << " '" << c->reply_text << "' (" << c->class_id << ","
        << c->method_id << ")";
  } else {
    s << ", " << f.payload.size() << " payload octets";
  }
  return s.str();
}

struct Login {
  std::string user = "guest";
  std::string pass = "guest";
  std::string vhost = "/";
  uint16_t heartbeat = 0;
  std::optional<uint16_t> channel_max;  // default: what connection.tune offered
  std::optional<uint32_t> frame_max;    // default: what connection.tune offered
  bool authentication_failure_close = true;
  bool connection_blocked = false;  // announce the connection.blocked capability
};

// One client connection. Single-threaded; all reads have deadlines.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};  // backstop only; waits below use poll()
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  // The last connection.tune, and what our tune-ok answered.
  const amqp::ConnectionTune& tune() const { return tune_; }
  uint32_t frame_max() const { return frame_max_; }
  uint16_t channel_max() const { return channel_max_; }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (n < 0 && send_error_ == 0) send_error_ = errno;
        return false;
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // One send() per octet (TCP_NODELAY is on): the broker sees the bytes in
  // as many pieces as the loopback delivers them.
  bool SendByteAtATime(std::string_view bytes) {
    for (char c : bytes)
      if (!Send(std::string_view(&c, 1))) return false;
    return true;
  }
  template <class M>
  bool SendMethod(uint16_t channel, const M& m) {
    return Send(MethodFrame(channel, m));
  }

  // Exactly `n` raw octets, or fewer on EOF / deadline.
  std::string ReadBytes(size_t n, Millis wait = kWait) {
    auto deadline = SteadyClock::now() + wait;
    while (buf_.size() < n && Fill(deadline)) {
    }
    std::string out = buf_.substr(0, std::min(n, buf_.size()));
    buf_.erase(0, out.size());
    return out;
  }

  // The next frame (heartbeats included), or nullopt on EOF, deadline or
  // bytes that are not a frame.
  std::optional<Frame> ReadFrame(Millis wait = kWait) {
    auto deadline = SteadyClock::now() + wait;
    for (;;) {
      amqp::FrameView view;
      size_t used = 0;
      amqp::FrameError error;
      auto r = amqp::DecodeFrame(buf_, 0, view, used, error);
      if (r == amqp::FrameDecode::kOk) {
        Frame f;
        f.type = view.type;
        f.channel = view.channel;
        f.payload.assign(view.payload);
        if (f.type == amqp::kFrameMethod) amqp::DecodeMethod(f.payload, f.method);
        buf_.erase(0, used);
        return f;
      }
      if (r == amqp::FrameDecode::kError) {
        ADD_FAILURE() << "broker sent bytes that are not a frame: " << error.text;
        return std::nullopt;
      }
      if (!Fill(deadline)) return std::nullopt;
    }
  }
  // The next frame that is not a heartbeat.
  std::optional<Frame> Next(Millis wait = kWait) {
    auto deadline = SteadyClock::now() + wait;
    for (;;) {
      auto left = std::chrono::duration_cast<Millis>(deadline - SteadyClock::now());
      auto f = ReadFrame(std::max(left, Millis(0)));
      if (!f || f->type != amqp::kFrameHeartbeat) return f;
    }
  }
  // The next non-heartbeat frame must be method M on `channel`; anything
  // else is a test failure (reported with what came instead).
  template <class M>
  std::optional<M> Expect(uint16_t channel, Millis wait = kWait) {
    auto f = Next(wait);
    if (!f) {
      ADD_FAILURE() << "expected " << M::kName << " on channel " << channel << ", got "
                    << (eof_ ? "EOF" : "nothing before the deadline");
      return std::nullopt;
    }
    const M* m = std::get_if<M>(&f->method);
    if (!m || f->channel != channel) {
      ADD_FAILURE() << "expected " << M::kName << " on channel " << channel << ", got "
                    << Describe(*f);
      return std::nullopt;
    }
    return *m;
  }
  // connection.close with this code (and class/method ids when given).
  ::testing::AssertionResult ExpectConnectionClose(uint16_t code,
                                                   std::optional<uint16_t> class_id = {},
                                                   std::optional<uint16_t> method_id = {}) {
    return ExpectClose<amqp::ConnectionClose>(0, code, class_id, method_id);
  }
  ::testing::AssertionResult ExpectChannelClose(uint16_t channel, uint16_t code,
                                                std::optional<uint16_t> class_id = {},
                                                std::optional<uint16_t> method_id = {}) {
    return ExpectClose<amqp::ChannelClose>(channel, code, class_id, method_id);
  }

  // True once the broker has closed the socket. Frames that arrive first
  // stay buffered: ReadFrame() still returns them, and pending() shows them.
  bool WaitEof(Millis wait = kEofWait) {
    auto deadline = SteadyClock::now() + wait;
    while (!eof_) {
      if (!Fill(deadline)) break;
    }
    return eof_;
  }
  // Octets received but not yet returned as frames.
  const std::string& pending() const { return buf_; }
  bool eof() const { return eof_; }
  // The socket ended with a reset (ECONNRESET) rather than the broker's FIN.
  bool reset() const { return reset_; }
  // errno of the first send() that failed (EPIPE, ECONNRESET), else 0.
  int send_error() const { return send_error_; }
  // A client that ignores what the broker says: sends `chunk` over and over,
  // as much as the window takes, while reading whatever arrives, until the
  // broker's side of the socket ends (or `wait` passes). True on EOF.
  bool SendUntilEof(std::string_view chunk, Millis wait = kEofWait) {
    auto deadline = SteadyClock::now() + wait;
    size_t at = 0;
    while (!eof_) {
      auto left = std::chrono::duration_cast<Millis>(deadline - SteadyClock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, static_cast<short>(POLLIN | (send_error_ ? 0 : POLLOUT)), 0};
      int r = ::poll(&p, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
        Fill(SteadyClock::now());
        continue;
      }
      if (p.revents & POLLOUT) {
        ssize_t n = ::send(fd_, chunk.data() + at, chunk.size() - at, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) at = (at + static_cast<size_t>(n)) % chunk.size();
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
          send_error_ = errno;
      }
    }
    return true;
  }
  // Half-closes our side: the broker reads EOF after what was sent.
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  // The handshake, step by step.
  bool SendHeader() { return Send(amqp::kProtocolHeader); }
  std::optional<amqp::ConnectionStart> ExpectStart() { return Expect<amqp::ConnectionStart>(0); }
  bool SendStartOk(const std::string& mechanism, const std::string& response,
                   bool authentication_failure_close = true, bool connection_blocked = false) {
    amqp::ConnectionStartOk ok;
    amqp::FieldTable caps;
    if (authentication_failure_close)
      caps.Set("authentication_failure_close", amqp::FieldValue::Bool(true));
    if (connection_blocked) caps.Set("connection.blocked", amqp::FieldValue::Bool(true));
    caps.Set("consumer_cancel_notify", amqp::FieldValue::Bool(true));
    ok.client_properties.Set("product", amqp::FieldValue::Str("warren protocol tests"));
    ok.client_properties.Set("capabilities", amqp::FieldValue::Table(caps));
    ok.mechanism = mechanism;
    ok.response = response;
    ok.locale = "en_US";
    return SendMethod(0, ok);
  }
  std::optional<amqp::ConnectionTune> ExpectTune() {
    auto t = Expect<amqp::ConnectionTune>(0);
    if (t) tune_ = *t;
    return t;
  }
  bool SendTuneOk(uint16_t channel_max, uint32_t frame_max, uint16_t heartbeat) {
    channel_max_ = channel_max;
    frame_max_ = frame_max;
    return SendMethod(0, amqp::ConnectionTuneOk{channel_max, frame_max, heartbeat});
  }
  bool SendOpen(const std::string& vhost) {
    amqp::ConnectionOpen open;
    open.virtual_host = vhost;
    return SendMethod(0, open);
  }

  // PLAIN login, tune-ok (the broker's values unless `login` says
  // otherwise), connection.open.
  ::testing::AssertionResult Handshake(const Login& login = {}) {
    if (!connected_) return ::testing::AssertionFailure() << "not connected";
    SendHeader();
    if (!ExpectStart()) return ::testing::AssertionFailure() << "no connection.start";
    SendStartOk("PLAIN", Plain(login.user, login.pass), login.authentication_failure_close,
                login.connection_blocked);
    if (!ExpectTune()) return ::testing::AssertionFailure() << "no connection.tune";
    SendTuneOk(login.channel_max.value_or(tune_.channel_max),
               login.frame_max.value_or(tune_.frame_max), login.heartbeat);
    SendOpen(login.vhost);
    if (!Expect<amqp::ConnectionOpenOk>(0))
      return ::testing::AssertionFailure() << "no connection.open-ok";
    return ::testing::AssertionSuccess();
  }
  ::testing::AssertionResult OpenChannel(uint16_t channel) {
    SendMethod(channel, amqp::ChannelOpen{});
    if (!Expect<amqp::ChannelOpenOk>(channel))
      return ::testing::AssertionFailure() << "channel " << channel << " did not open";
    return ::testing::AssertionSuccess();
  }
  ::testing::AssertionResult DeclareQueue(uint16_t channel, const std::string& queue,
                                          const amqp::FieldTable& arguments = {},
                                          bool durable = false) {
    amqp::QueueDeclare d;
    d.queue = queue;
    d.arguments = arguments;
    d.durable = durable;
    SendMethod(channel, d);
    if (!Expect<amqp::QueueDeclareOk>(channel))
      return ::testing::AssertionFailure() << "queue '" << queue << "' not declared";
    return ::testing::AssertionSuccess();
  }
  // connection.close from our side, close-ok back, then EOF.
  ::testing::AssertionResult Close() {
    SendMethod(0, amqp::ConnectionClose{200, "bye", 0, 0});
    if (!Expect<amqp::ConnectionCloseOk>(0))
      return ::testing::AssertionFailure() << "no connection.close-ok";
    if (!WaitEof()) return ::testing::AssertionFailure() << "socket still open after close-ok";
    return ::testing::AssertionSuccess();
  }

  static std::string Plain(const std::string& user, const std::string& pass) {
    return std::string(1, '\0') + user + std::string(1, '\0') + pass;
  }
  // AMQPLAIN: a field table's entries without the table's length prefix.
  static std::string Amqplain(const std::string& user, const std::string& pass) {
    amqp::FieldTable t;
    t.Set("LOGIN", amqp::FieldValue::Str(user));
    t.Set("PASSWORD", amqp::FieldValue::Str(pass));
    std::string encoded;
    amqp::EncodeTable(t, encoded);
    return encoded.substr(4);
  }

 private:
  template <class M>
  ::testing::AssertionResult ExpectClose(uint16_t channel, uint16_t code,
                                         std::optional<uint16_t> class_id,
                                         std::optional<uint16_t> method_id) {
    auto f = Next();
    if (!f)
      return ::testing::AssertionFailure() << "expected " << M::kName << " " << code << ", got "
                                           << (eof_ ? "EOF" : "nothing before the deadline");
    const M* m = std::get_if<M>(&f->method);
    if (!m || f->channel != channel || m->reply_code != code ||
        (class_id && m->class_id != *class_id) || (method_id && m->method_id != *method_id)) {
      auto r = ::testing::AssertionFailure();
      r << "expected " << M::kName << " " << code;
      if (class_id) r << " (" << *class_id << "," << method_id.value_or(0) << ")";
      return r << " on channel " << channel << ", got " << Describe(*f);
    }
    return ::testing::AssertionSuccess() << Describe(*f);
  }

  // Appends what the socket has; false on EOF, error or deadline.
  bool Fill(SteadyClock::time_point deadline) {
    if (eof_) return false;
    auto left = std::chrono::duration_cast<Millis>(deadline - SteadyClock::now()).count();
    if (left < 0) left = 0;
    pollfd p{fd_, POLLIN, 0};
    int r;
    do {
      r = ::poll(&p, 1, static_cast<int>(left));
    } while (r < 0 && errno == EINTR);
    if (r <= 0) return false;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      eof_ = true;
      reset_ = n < 0;
      return false;
    }
    if (n < 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  bool reset_ = false;
  int send_error_ = 0;
  std::string buf_;
  amqp::ConnectionTune tune_;
  uint32_t frame_max_ = 0;
  uint16_t channel_max_ = 0;
};

// A message fetched with basic.get: the get-ok, the raw content header
// payload and every body frame as it arrived.
struct Fetched {
  amqp::BasicGetOk get_ok;
  std::string header_payload;
  std::vector<std::string> body_frames;
  std::string body() const {
    std::string out;
    for (const auto& b : body_frames) out += b;
    return out;
  }
  // The property flags and properties, exactly as the broker sent them.
  std::string raw_properties() const {
    return header_payload.size() >= 12 ? header_payload.substr(12) : std::string();
  }
};

// Reads a content header and as many body frames as its body size needs.
inline bool ReadContent(RawClient& c, uint16_t channel, std::string& header_payload,
                        std::vector<std::string>& body_frames) {
  auto h = c.Next();
  if (!h || h->type != amqp::kFrameHeader || h->channel != channel) {
    ADD_FAILURE() << "expected a content header on channel " << channel << ", got "
                  << (h ? Describe(*h) : std::string("nothing"));
    return false;
  }
  header_payload = h->payload;
  amqp::Reader r(header_payload);
  r.U16();
  r.U16();
  uint64_t size = r.U64();
  uint64_t got = 0;
  while (got < size) {
    auto b = c.Next();
    if (!b || b->type != amqp::kFrameBody || b->channel != channel) {
      ADD_FAILURE() << "expected a body frame on channel " << channel << " (" << got << " of "
                    << size << " octets so far), got "
                    << (b ? Describe(*b) : std::string("nothing"));
      return false;
    }
    got += b->payload.size();
    body_frames.push_back(std::move(b->payload));
  }
  EXPECT_EQ(got, size) << "body frames overran the content header's body size";
  return true;
}

inline std::optional<Fetched> Get(RawClient& c, uint16_t channel, const std::string& queue) {
  amqp::BasicGet get;
  get.queue = queue;
  get.no_ack = true;
  c.SendMethod(channel, get);
  auto ok = c.Expect<amqp::BasicGetOk>(channel);
  if (!ok) return std::nullopt;
  Fetched f;
  f.get_ok = *ok;
  if (!ReadContent(c, channel, f.header_payload, f.body_frames)) return std::nullopt;
  return f;
}

// A fresh connection can log in, open a channel and declare a queue: the
// node survived whatever the test did to an earlier connection.
inline ::testing::AssertionResult NodeServes(uint16_t port) {
  RawClient c(port);
  if (auto r = c.Handshake(); !r) return r << " (fresh connection)";
  if (auto r = c.OpenChannel(1); !r) return r << " (fresh connection)";
  if (auto r = c.DeclareQueue(1, "alive-check"); !r) return r << " (fresh connection)";
  return c.Close();
}

}  // namespace warren::protocol_test
