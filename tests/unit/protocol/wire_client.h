// An in-process warren-node on 127.0.0.1:0 and a blocking raw-frame client,
// for component tests that drive the node byte by byte (STYLE.md, tier 2).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "amqp/frame.h"
#include "amqp/methods.h"
#include "broker/node.h"

namespace warren::testing {

// Starts a node in a thread; stops and joins it on destruction.
class NodeRunner {
 public:
  explicit NodeRunner(NodeConfig config = {}) {
    config.amqp_listen = "127.0.0.1:0";
    dir_ = std::filesystem::temp_directory_path() /
           ("warren-wire-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    config.data_dir = dir_.string();
    config.node_name = "warren@test";
    node_ = std::make_unique<Node>(config);
    node_->Start();
    thread_ = std::thread([this] { node_->Run(); });
  }
  ~NodeRunner() {
    node_->Stop();
    thread_.join();
    node_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  uint16_t port() const { return node_->amqp_port(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::unique_ptr<Node> node_;
  std::thread thread_;
};

struct Received {
  uint8_t type = 0;
  uint16_t channel = 0;
  std::string payload;
  amqp::Method method;  // set for method frames
};

// Blocking client; every read gives up after `timeout_s` seconds.
class WireClient {
 public:
  explicit WireClient(uint16_t port, int timeout_s = 10) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{timeout_s, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~WireClient() { ::close(fd_); }
  bool connected() const { return connected_; }

  void Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  template <class M>
  void SendMethod(uint16_t channel, const M& m) {
    std::string out;
    amqp::AppendMethodFrame(out, channel, m);
    Send(out);
  }

  // Raw bytes until `n` are in or the peer closes / times out.
  std::string ReadRaw(size_t n) {
    while (buf_.size() < n && Fill()) {
    }
    std::string out = buf_.substr(0, std::min(n, buf_.size()));
    buf_.erase(0, out.size());
    return out;
  }

  // The next frame, or nullopt on EOF / timeout / undecodable bytes.
  std::optional<Received> Next() {
    for (;;) {
      amqp::FrameView f;
      size_t used = 0;
      amqp::FrameError err;
      auto r = amqp::DecodeFrame(buf_, 0, f, used, err);
      if (r == amqp::FrameDecode::kOk) {
        Received out{f.type, f.channel, std::string(f.payload), {}};
        if (f.type == amqp::kFrameMethod) amqp::DecodeMethod(out.payload, out.method);
        buf_.erase(0, used);
        return out;
      }
      if (r == amqp::FrameDecode::kError || !Fill()) return std::nullopt;
    }
  }
  // The next method frame (heartbeats and content skipped).
  std::optional<Received> NextMethod() {
    for (;;) {
      auto f = Next();
      if (!f || f->type == amqp::kFrameMethod) return f;
    }
  }
  // True once the server has closed the socket (reads return 0).
  bool AtEof() {
    for (;;) {
      if (!buf_.empty()) buf_.clear();
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n == 0) return true;
      if (n < 0) return false;
    }
  }

  // Protocol header, then start-ok with `mechanism`/`response`; returns what
  // the server answers (tune, or a close / nothing when login is refused).
  std::optional<Received> Login(const std::string& mechanism, const std::string& response,
                                bool failure_close = true) {
    Send(amqp::kProtocolHeader);
    auto start = NextMethod();
    if (!start || !std::holds_alternative<amqp::ConnectionStart>(start->method)) return start;
    amqp::ConnectionStartOk ok;
    ok.mechanism = mechanism;
    ok.response = response;
    ok.locale = "en_US";
    amqp::FieldTable caps;
    caps.Set("authentication_failure_close", amqp::FieldValue::Bool(failure_close));
    caps.Set("consumer_cancel_notify", amqp::FieldValue::Bool(true));
    ok.client_properties.Set("capabilities", amqp::FieldValue::Table(caps));
    SendMethod(0, ok);
    return NextMethod();
  }
  static std::string Plain(const std::string& user, const std::string& pass) {
    return std::string("\0", 1) + user + std::string("\0", 1) + pass;
  }

  // PLAIN login, tune (the server's channel-max; its frame-max unless one is
  // given; the heartbeat given), open `vhost`. The reply to connection.open
  // (open-ok or a close), or nothing when an earlier step failed.
  std::optional<Received> Open(const std::string& vhost, uint16_t heartbeat = 0,
                               uint32_t frame_max = 0, const std::string& user = "guest",
                               const std::string& pass = "guest") {
    auto tune = Login("PLAIN", Plain(user, pass));
    if (!tune || !std::holds_alternative<amqp::ConnectionTune>(tune->method)) return std::nullopt;
    auto t = std::get<amqp::ConnectionTune>(tune->method);
    SendMethod(0, amqp::ConnectionTuneOk{t.channel_max, frame_max ? frame_max : t.frame_max,
                                         heartbeat});
    amqp::ConnectionOpen open;
    open.virtual_host = vhost;
    SendMethod(0, open);
    return NextMethod();
  }
  bool Handshake(const std::string& user = "guest", const std::string& pass = "guest",
                 uint16_t heartbeat = 0, uint32_t frame_max = 0) {
    auto opened = Open("/", heartbeat, frame_max, user, pass);
    return opened && std::holds_alternative<amqp::ConnectionOpenOk>(opened->method);
  }
  bool OpenChannel(uint16_t channel) {
    SendMethod(channel, amqp::ChannelOpen{});
    auto r = NextMethod();
    return r && r->channel == channel && std::holds_alternative<amqp::ChannelOpenOk>(r->method);
  }

 private:
  bool Fill() {
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

}  // namespace warren::testing
