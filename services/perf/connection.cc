#include "perf/connection.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "amqp/frame.h"
#include "amqp/wire.h"
#include "perf/control.h"

namespace warren::perf {

namespace {

constexpr size_t kReadBuffer = 1 << 20;       // reads go straight into it
constexpr uint32_t kMaxFrame = 131072;        // what we ask for in tune-ok
constexpr uint16_t kDefaultChannelMax = 2047;  // when the server says "no limit"

uint16_t U16At(std::string_view p, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[at]) << 8) | static_cast<uint8_t>(p[at + 1]));
}

amqp::FieldTable ClientProperties(const std::string& name) {
  amqp::FieldTable caps;
  for (const char* c : {"publisher_confirms", "basic.nack", "connection.blocked",
                        "consumer_cancel_notify", "authentication_failure_close"})
    caps.Set(c, amqp::FieldValue::Bool(true));
  amqp::FieldTable props;
  props.Set("product", amqp::FieldValue::Str("warren-perf"));
  props.Set("platform", amqp::FieldValue::Str("C++"));
  props.Set("connection_name", amqp::FieldValue::Str(name));
  props.Set("capabilities", amqp::FieldValue::Table(std::move(caps)));
  return props;
}

std::string Describe(uint16_t code, const std::string& text) { return std::to_string(code) + " " + text; }

}  // namespace

Connection::Connection(Loop& loop, RunControl& control, const Endpoint& endpoint, std::string name)
    : loop_(loop), control_(control), endpoint_(endpoint), name_(std::move(name)), in_(kReadBuffer) {}

Connection::~Connection() {
  if (fd_ >= 0) {
    loop_.Unwatch(fd_);
    ::close(fd_);
  }
}

void Connection::AddChannel(std::unique_ptr<ChannelRole> role) {
  role->Attach(this, static_cast<uint16_t>(channels_.size() + 1));
  channels_.push_back(Channel{std::move(role)});
}

void Connection::Start() {
  fd_ = ::socket(endpoint_.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Fail(std::string("socket: ") + strerror(errno));
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc = ::connect(fd_, reinterpret_cast<const sockaddr*>(&endpoint_.addr), endpoint_.addr_len);
  if (rc < 0 && errno != EINPROGRESS) {
    return Fail("cannot connect to " + endpoint_.uri.host + ":" + std::to_string(endpoint_.uri.port) +
                ": " + strerror(errno));
  }
  loop_.Watch(fd_, this, EPOLLOUT);
}

void Connection::FinishConnect() {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    return Fail("cannot connect to " + endpoint_.uri.host + ":" + std::to_string(endpoint_.uri.port) +
                ": " + strerror(err));
  }
  if (!endpoint_.tls) return StartAmqp();
  Result<tls::ClientSession> session = tls::ClientSession::Make(endpoint_.tls, fd_, endpoint_.uri.host);
  if (!session.ok()) return Fail(session.error().text);
  tls_.emplace(std::move(session.value()));
  state_ = State::kTlsHandshake;
  ContinueHandshake();
}

void Connection::ContinueHandshake() {
  switch (tls::Io io = tls_->Handshake()) {
    case tls::Io::kDone:
      return StartAmqp();
    case tls::Io::kWantRead:
    case tls::Io::kWantWrite:
      return loop_.Rewatch(fd_, this, io == tls::Io::kWantRead ? EPOLLIN : EPOLLOUT);
    default:
      return Fail("TLS to " + endpoint_.uri.host + ":" + std::to_string(endpoint_.uri.port) + ": " +
                  tls_->error());
  }
}

void Connection::StartAmqp() {
  state_ = State::kAwaitStart;
  loop_.Rewatch(fd_, this, EPOLLIN);
  out_.append(amqp::kProtocolHeader);
  Flush();
}

tls::Io Connection::Send(const char* data, size_t len, size_t& n, std::string& why) {
  if (tls_) {
    tls::Io io = tls_->Write(data, len, n);
    if (io == tls::Io::kClosed || io == tls::Io::kError) why = tls_->error();
    return io;
  }
  for (;;) {
    ssize_t sent = ::send(fd_, data, len, MSG_NOSIGNAL);
    if (sent > 0) {
      n = static_cast<size_t>(sent);
      return tls::Io::kDone;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && errno == EAGAIN) return tls::Io::kWantWrite;
    why = strerror(errno);
    return tls::Io::kError;
  }
}

tls::Io Connection::Receive(char* data, size_t len, size_t& n, std::string& why) {
  n = 0;
  if (tls_) {
    // Record after record until the buffer is full or the socket is dry,
    // as one recv() would take everything the kernel holds.
    for (;;) {
      size_t got = 0;
      tls::Io io = tls_->Read(data + n, len - n, got);
      if (io == tls::Io::kDone) {
        n += got;
        if (n == len) return io;
        continue;
      }
      if (n > 0) return tls::Io::kDone;  // an end or error shows on the next read
      if (io == tls::Io::kClosed || io == tls::Io::kError) why = tls_->error();
      return io;
    }
  }
  ssize_t got = ::recv(fd_, data, len, 0);
  if (got > 0) {
    n = static_cast<size_t>(got);
    return tls::Io::kDone;
  }
  if (got < 0 && (errno == EAGAIN || errno == EINTR)) return tls::Io::kWantRead;
  why = got == 0 ? "the server closed the connection" : strerror(errno);
  return got == 0 ? tls::Io::kClosed : tls::Io::kError;
}

void Connection::Close() {
  switch (state_) {
    case State::kOpen:
      state_ = State::kClosing;
      amqp::AppendMethodFrame(out_, 0, amqp::ConnectionClose{200, "bye", 0, 0});
      Flush();
      return;
    case State::kClosing:
    case State::kClosed:
      return;
    default:
      Drop();
  }
}

void Connection::Drop() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  if (tls_) tls_->Shutdown();  // close_notify, when it fits without waiting
  tls_.reset();
  if (fd_ >= 0) {
    loop_.Unwatch(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  if (on_closed_) on_closed_();
}

// A failure while the run goes on is fatal for the run; once it is stopping,
// connections going away are expected and stay quiet.
void Connection::Fail(const std::string& what) {
  if (!control_.stopping() && state_ != State::kClosing) control_.Fail(what);
  Drop();
}

void Connection::Flush() {
  if (fd_ < 0 || state_ == State::kConnecting || state_ == State::kTlsHandshake) return;
  while (out_offset_ < out_.size()) {
    size_t n = 0;
    std::string why;
    tls::Io io = Send(out_.data() + out_offset_, out_.size() - out_offset_, n, why);
    if (io == tls::Io::kDone) out_offset_ += n;
    else if (io == tls::Io::kWantRead || io == tls::Io::kWantWrite) break;
    else return Fail("write to " + name_ + ": " + why);
  }
  if (out_offset_ == out_.size()) {
    out_.clear();
    out_offset_ = 0;
    if (want_write_) {
      want_write_ = false;
      loop_.Rewatch(fd_, this, EPOLLIN);
    }
  } else if (!want_write_) {
    want_write_ = true;
    loop_.Rewatch(fd_, this, EPOLLIN | EPOLLOUT);
  }
  if (read_wants_write_ && !want_write_) loop_.Rewatch(fd_, this, EPOLLIN | EPOLLOUT);
}

void Connection::OnIo(uint32_t events) {
  if (state_ == State::kConnecting) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) FinishConnect();
    return;
  }
  if (state_ == State::kTlsHandshake) return ContinueHandshake();
  if (events & EPOLLOUT) {
    Flush();
    if (state_ == State::kClosed) return;
    if (!want_write_ && state_ == State::kOpen) {
      for (auto& ch : channels_) ch.role->OnWritable();
    }
  }
  if (read_wants_write_ && (events & EPOLLOUT)) {
    read_wants_write_ = false;
    if (!want_write_) loop_.Rewatch(fd_, this, EPOLLIN);
    events |= EPOLLIN;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ReadSome();
}

// Over TLS a read that filled the buffer may leave records read ahead inside
// OpenSSL, where epoll cannot see them: read again once the frames are
// dispatched. (One that did not fill it stopped on a dry socket: what
// OpenSSL holds then is part of a record whose rest epoll will announce.)
void Connection::ReadSome() {
  while (ReadOnce() && state_ != State::kClosed) {
  }
}

bool Connection::ReadOnce() {
  if (in_tail_ == in_.size()) {  // a partial frame at the end: move it to the front
    std::memmove(in_.data(), in_.data() + in_head_, in_tail_ - in_head_);
    in_tail_ -= in_head_;
    in_head_ = 0;
  }
  size_t n = 0, space = in_.size() - in_tail_;
  std::string why;
  tls::Io io = Receive(in_.data() + in_tail_, space, n, why);
  if (io == tls::Io::kWantRead) return false;
  if (io == tls::Io::kWantWrite) {
    read_wants_write_ = true;
    loop_.Rewatch(fd_, this, EPOLLIN | EPOLLOUT);
    return false;
  }
  if (io != tls::Io::kDone) {
    if (state_ == State::kAwaitStart || state_ == State::kAwaitTune || state_ == State::kAwaitOpenOk)
      why += " during the handshake (refused login or vhost?)";
    Fail(name_ + ": " + why);
    return false;
  }
  in_tail_ += n;
  read_ns_ = MonotonicNanos();
  while (in_head_ < in_tail_) {
    amqp::FrameView frame;
    amqp::FrameError error;
    size_t used = 0;
    std::string_view avail(in_.data() + in_head_, in_tail_ - in_head_);
    auto rc = amqp::DecodeFrame(avail, frame_max_, frame, used, error);
    if (rc == amqp::FrameDecode::kNeedMore) break;
    if (rc == amqp::FrameDecode::kError) {
      Fail(name_ + ": bad frame from the server: " + error.text);
      return false;
    }
    in_head_ += used;
    if (!Dispatch(frame.type, frame.channel, frame.payload)) return false;
  }
  if (in_head_ == in_tail_) in_head_ = in_tail_ = 0;
  if (state_ == State::kOpen)
    for (auto& ch : channels_) ch.role->OnReadDrained();
  Flush();
  return tls_ && n == space;
}

// False when the connection went away and the caller must stop touching it.
bool Connection::Dispatch(uint8_t type, uint16_t channel, std::string_view payload) {
  if (state_ == State::kClosing && !(type == amqp::kFrameMethod && channel == 0)) return true;
  if (type == amqp::kFrameHeartbeat) {
    amqp::AppendHeartbeat(out_);
    return true;
  }
  if (channel != 0 && state_ == State::kOpen) {
    Channel* ch = ChannelAt(channel);
    if (ch == nullptr) {
      Fail(name_ + ": frame on unknown channel " + std::to_string(channel));
      return false;
    }
    if (type == amqp::kFrameHeader) {
      OnHeader(*ch, payload);
      return true;
    }
    if (type == amqp::kFrameBody) {
      OnBody(*ch, payload);
      return true;
    }
    if (type == amqp::kFrameMethod && OnFastMethod(*ch, payload)) return true;
  }
  if (type != amqp::kFrameMethod) {
    Fail(name_ + ": unexpected frame type " + std::to_string(type));
    return false;
  }
  OnMethodFrame(channel, payload);
  return state_ != State::kClosed;
}

// basic.deliver, basic.ack, basic.nack and basic.return, read in place: no
// Method variant, no strings. False for anything else.
bool Connection::OnFastMethod(Channel& ch, std::string_view payload) {
  if (payload.size() < 4 || U16At(payload, 0) != 60) return false;
  amqp::Reader r(payload.substr(4));
  switch (U16At(payload, 2)) {
    case 60: {  // basic.deliver: consumer-tag, delivery-tag, ...
      r.ShortStr();
      ch.delivery_tag = r.U64();
      ch.content = Content::kDeliver;
      return r.ok();
    }
    case 80:     // basic.ack
    case 120: {  // basic.nack
      uint64_t tag = r.U64();
      uint8_t bits = r.U8();
      if (!r.ok()) return false;
      ch.role->OnConfirm(tag, bits & 1, U16At(payload, 2) == 80);
      return true;
    }
    case 50:
      ch.content = Content::kReturn;
      return true;
    default:
      return false;
  }
}

void Connection::OnHeader(Channel& ch, std::string_view payload) {
  amqp::Reader r(payload);
  r.U16();
  r.U16();
  ch.body_left = r.U64();
  ch.body_started = false;
  ch.sent_ns = 0;
  if (ch.body_left == 0) FinishContent(ch);
}

void Connection::OnBody(Channel& ch, std::string_view payload) {
  if (!ch.body_started && payload.size() >= 8) {
    amqp::Reader r(payload);
    ch.sent_ns = r.U64();
  }
  ch.body_started = true;
  ch.body_left -= std::min<uint64_t>(ch.body_left, payload.size());
  if (ch.body_left == 0) FinishContent(ch);
}

void Connection::FinishContent(Channel& ch) {
  Content kind = ch.content;
  ch.content = Content::kNone;
  if (kind == Content::kDeliver) ch.role->OnDelivery(ch.delivery_tag, ch.sent_ns);
  else if (kind == Content::kReturn) ch.role->OnReturn();
}

void Connection::OnMethodFrame(uint16_t channel, std::string_view payload) {
  amqp::Method method;
  if (amqp::DecodeMethod(payload, method) != amqp::MethodDecode::kOk) {
    uint16_t cls = payload.size() >= 4 ? U16At(payload, 0) : 0;
    uint16_t id = payload.size() >= 4 ? U16At(payload, 2) : 0;
    return Fail(name_ + ": cannot decode method " + std::string(amqp::MethodName(cls, id)));
  }
  if (channel == 0) return OnConnectionMethod(method);
  OnChannelMethod(channel, method);
}

void Connection::OnConnectionMethod(const amqp::Method& method) {
  if (const auto* close = std::get_if<amqp::ConnectionClose>(&method)) {
    amqp::AppendMethodFrame(out_, 0, amqp::ConnectionCloseOk{});
    Flush();
    return Fail(name_ + ": the server closed the connection: " + Describe(close->reply_code, close->reply_text));
  }
  if (std::holds_alternative<amqp::ConnectionCloseOk>(method)) return Drop();
  if (state_ == State::kClosing) return;
  if (std::holds_alternative<amqp::ConnectionStart>(method) && state_ == State::kAwaitStart) {
    state_ = State::kAwaitTune;
    return SendStartOk();
  }
  if (const auto* tune = std::get_if<amqp::ConnectionTune>(&method); tune && state_ == State::kAwaitTune) {
    uint16_t channel_max = tune->channel_max == 0 ? kDefaultChannelMax : tune->channel_max;
    if (channels_.size() > channel_max)
      return Fail(name_ + ": the server allows " + std::to_string(channel_max) + " channels per connection");
    frame_max_ = tune->frame_max == 0 ? kMaxFrame : std::min(tune->frame_max, kMaxFrame);
    // Heartbeats off: an autoack consumer never writes, and the run is short.
    amqp::AppendMethodFrame(out_, 0, amqp::ConnectionTuneOk{channel_max, frame_max_, 0});
    amqp::AppendMethodFrame(out_, 0, amqp::ConnectionOpen{endpoint_.uri.vhost, "", false});
    state_ = State::kAwaitOpenOk;
    return Flush();
  }
  if (std::holds_alternative<amqp::ConnectionOpenOk>(method) && state_ == State::kAwaitOpenOk) {
    state_ = State::kOpen;
    for (size_t i = 0; i < channels_.size(); ++i)
      amqp::AppendMethodFrame(out_, static_cast<uint16_t>(i + 1), amqp::ChannelOpen{});
    return Flush();
  }
  if (std::holds_alternative<amqp::ConnectionBlocked>(method)) {
    blocked_ = true;
    return;
  }
  if (std::holds_alternative<amqp::ConnectionUnblocked>(method)) {
    blocked_ = false;
    for (auto& ch : channels_) ch.role->OnWritable();
    return;
  }
  Fail(name_ + ": unexpected " + std::string(amqp::MethodName(amqp::ClassIdOf(method), amqp::MethodIdOf(method))));
}

void Connection::SendStartOk() {
  amqp::ConnectionStartOk ok;
  ok.client_properties = ClientProperties(name_);
  ok.mechanism = "PLAIN";
  ok.response = std::string(1, '\0') + endpoint_.uri.user + std::string(1, '\0') + endpoint_.uri.password;
  ok.locale = "en_US";
  amqp::AppendMethodFrame(out_, 0, ok);
  Flush();
}

void Connection::OnChannelMethod(uint16_t channel, const amqp::Method& method) {
  Channel* ch = ChannelAt(channel);
  if (ch == nullptr) return Fail(name_ + ": method on unknown channel " + std::to_string(channel));
  if (const auto* close = std::get_if<amqp::ChannelClose>(&method)) {
    amqp::AppendMethodFrame(out_, channel, amqp::ChannelCloseOk{});
    Flush();
    std::string failed = close->class_id == 0 ? std::string()
                                              : " (after " + std::string(amqp::MethodName(close->class_id, close->method_id)) + ")";
    return Fail(name_ + ": the server closed channel " + std::to_string(channel) + ": " +
                Describe(close->reply_code, close->reply_text) + failed);
  }
  if (std::holds_alternative<amqp::ChannelOpenOk>(method)) return ch->role->OnOpen();
  ch->role->OnMethod(method);
}

}  // namespace warren::perf
