// One AMQP connection of warren-perf and the channels on it.
//
//   Connect ─(amqps: TLS handshake)─> protocol header ──> start/start-ok ──> tune/tune-ok, open
//      │                                                                    │
//      └─ refused, TLS failed: RunControl::Fail                     open-ok: channel.open × N
//                                                             │
//   Closed <── close-ok <── Closing (we sent close) <──────── Open (roles run)
//
// Lifecycle: made and started on its Loop's thread, used only there. Roles
// (ChannelRole) append frames to out() and call Flush(); reads are parsed in
// place from one buffer, and the frames one read brings are dispatched before
// any output is written, so acks and confirms leave in one write.
// Over amqps the same bytes go through a tls::ClientSession on the socket.
// The per-message methods (basic.deliver/ack/nack, content frames) are parsed
// straight from the bytes; everything else goes through amqp::DecodeMethod.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "amqp/methods.h"
#include "common/tls_client.h"
#include "perf/loop.h"
#include "perf/options.h"

namespace warren::perf {

class Connection;
class RunControl;

// Where to connect and as whom; resolved once at start-up.
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  AmqpUri uri;
  tls::Context tls;  // amqps: shared by every connection (null: plain AMQP)
};

// What runs on one channel: a producer, a consumer, the declarations.
class ChannelRole {
 public:
  virtual ~ChannelRole() = default;
  virtual void OnOpen() = 0;  // channel.open-ok arrived
  virtual void OnMethod(const amqp::Method& method) {}
  virtual void OnDelivery(uint64_t delivery_tag, uint64_t sent_ns) {}  // whole message in
  virtual void OnConfirm(uint64_t delivery_tag, bool multiple, bool ack) {}
  virtual void OnReturn() {}
  virtual void OnReadDrained() {}  // the frames of one read were dispatched
  virtual void OnWritable() {}     // output drained, or the connection unblocked

  void Attach(Connection* connection, uint16_t channel) {
    connection_ = connection;
    channel_ = channel;
  }

 protected:
  Connection* connection_ = nullptr;
  uint16_t channel_ = 0;
};

class Connection : public IoHandler {
 public:
  Connection(Loop& loop, RunControl& control, const Endpoint& endpoint, std::string name);
  ~Connection() override;

  // Before Start: channels get ids 1, 2, ... in the order added.
  void AddChannel(std::unique_ptr<ChannelRole> role);
  void Start();
  // Sends connection.close and waits for close-ok; before the handshake is
  // done it just drops the socket. `on_closed` runs once the socket is gone.
  void Close();
  void set_on_closed(std::function<void()> fn) { on_closed_ = std::move(fn); }

  bool closed() const { return state_ == State::kClosed; }
  bool open() const { return state_ == State::kOpen; }
  bool blocked() const { return blocked_; }
  // Open, not blocked, and the output buffer below its high-water mark.
  bool CanPublish() const { return state_ == State::kOpen && !blocked_ && pending() < kHighWater; }
  size_t pending() const { return out_.size() - out_offset_; }
  uint32_t frame_max() const { return frame_max_; }
  uint64_t read_ns() const { return read_ns_; }  // when the bytes being dispatched arrived
  Loop& loop() { return loop_; }
  RunControl& control() { return control_; }
  std::string& out() { return out_; }
  void Flush();

  void OnIo(uint32_t events) override;

  static constexpr size_t kHighWater = 1 << 20;

 private:
  enum class State { kConnecting, kTlsHandshake, kAwaitStart, kAwaitTune, kAwaitOpenOk, kOpen, kClosing, kClosed };
  enum class Content : uint8_t { kNone, kDeliver, kReturn };
  struct Channel {
    std::unique_ptr<ChannelRole> role;
    Content content = Content::kNone;
    uint64_t delivery_tag = 0;
    uint64_t body_left = 0;
    uint64_t sent_ns = 0;
    bool body_started = false;
  };

  void FinishConnect();
  void ContinueHandshake();
  void StartAmqp();
  // The socket's bytes, through TLS when it is on: kDone with n > 0,
  // kWantRead/kWantWrite when it would block, kClosed/kError with `why`.
  tls::Io Send(const char* data, size_t len, size_t& n, std::string& why);
  tls::Io Receive(char* data, size_t len, size_t& n, std::string& why);
  void ReadSome();
  bool ReadOnce();  // true: read again (TLS may hold more than epoll shows)
  bool Dispatch(uint8_t type, uint16_t channel, std::string_view payload);
  bool OnFastMethod(Channel& ch, std::string_view payload);
  void OnMethodFrame(uint16_t channel, std::string_view payload);
  void OnConnectionMethod(const amqp::Method& method);
  void OnChannelMethod(uint16_t channel, const amqp::Method& method);
  void OnHeader(Channel& ch, std::string_view payload);
  void OnBody(Channel& ch, std::string_view payload);
  void FinishContent(Channel& ch);
  void SendStartOk();
  void Fail(const std::string& what);
  void Drop();
  Channel* ChannelAt(uint16_t id) {
    return id >= 1 && id <= channels_.size() ? &channels_[id - 1] : nullptr;
  }

  Loop& loop_;
  RunControl& control_;
  const Endpoint& endpoint_;
  std::string name_;
  int fd_ = -1;
  std::optional<tls::ClientSession> tls_;
  bool read_wants_write_ = false;  // TLS: a read must wait for writability
  State state_ = State::kConnecting;
  bool blocked_ = false;
  bool want_write_ = false;
  uint32_t frame_max_ = 131072;
  uint64_t read_ns_ = 0;
  std::vector<Channel> channels_;
  std::vector<char> in_;
  size_t in_head_ = 0, in_tail_ = 0;
  std::string out_;
  size_t out_offset_ = 0;
  std::function<void()> on_closed_;
};

}  // namespace warren::perf
