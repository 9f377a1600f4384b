#include "balancer/health_check.h"

#include <asio/write.hpp>

#include "amqp/frame.h"
#include "amqp/methods.h"
#include "common/log.h"
#include "common/text.h"

namespace warren::balancer {

namespace {
constexpr size_t kMaxStartBytes = 64 * 1024;  // connection.start is far smaller

// What the server sent, quoted for a log line and the stats page (its bytes
// are the server's, not ours: control bytes escaped, at most 64 shown).
std::string Quote(const std::string& in) { return "'" + LogSafe(in, 64) + "'"; }

// Why the first bytes of a server are not a connection.start frame.
std::string NotAmqp(const std::string& in, const std::string& why) {
  // A broker that does not speak 0-9-1 answers with the protocol header it
  // does speak, then closes (spec 4.2.2).
  if (in.size() >= 8 && in.compare(0, 4, "AMQP") == 0)
    return "the server wants another protocol version, it sent " + Quote(in.substr(0, 8));
  return why + "; the server sent " + Quote(in);
}
}  // namespace

HealthCheck::HealthCheck(asio::io_context& io, std::shared_ptr<Server> server, std::string listener,
                         Millis timeout_connect)
    : io_(io),
      server_(std::move(server)),
      listener_(std::move(listener)),
      timeout_(std::min(timeout_connect, server_->config().inter)),
      dialer_(io),
      timer_(io),
      deadline_(io),
      socket_(io) {}

void HealthCheck::Start() {
  if (server_->config().check == CheckKind::kNone) {
    (void)server_->RecordCheck(true, "no check configured");
    return;
  }
  Probe();  // at once, so a dead server is found within fall * inter
}

void HealthCheck::Stop() {
  stopped_ = true;
  timer_.cancel();
  deadline_.cancel();
  dialer_.Cancel();
  std::error_code ignored;
  socket_.close(ignored);
}

void HealthCheck::Schedule() {
  if (stopped_) return;
  timer_.expires_after(server_->config().inter);
  timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec && !self->stopped_) self->Probe();
  });
}

void HealthCheck::Probe() {
  probing_ = true;
  auto start = std::chrono::steady_clock::now();
  dialer_.Dial(server_->config().address, timeout_,
               [self = shared_from_this(), start](std::error_code ec, asio::ip::tcp::socket s) {
                 if (self->stopped_) return;
                 if (ec) return self->Done(false, "connect: " + ec.message());
                 if (self->server_->config().check == CheckKind::kTcp)
                   return self->Done(true, "tcp connect ok");
                 self->socket_ = std::move(s);
                 // What remains of the check's time budget covers the handshake.
                 auto left = self->timeout_ - (std::chrono::steady_clock::now() - start);
                 self->deadline_.expires_after(std::max<std::chrono::nanoseconds>(left, Millis(1)));
                 self->deadline_.async_wait([self](std::error_code ec) {
                   if (ec || !self->probing_) return;
                   std::error_code ignored;
                   self->socket_.close(ignored);  // the read completes with an error
                 });
                 self->ReadStart();
               });
}

void HealthCheck::ReadStart() {
  in_.clear();
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(amqp::kProtocolHeader.data(), amqp::kProtocolHeader.size()),
                    [self](std::error_code ec, size_t) {
                      if (self->stopped_) return;
                      if (ec) self->Done(false, "sending the protocol header: " + ec.message());
                    });
  auto buf = std::make_shared<std::array<char, 4096>>();
  auto read = std::make_shared<std::function<void()>>();
  *read = [self, buf, read] {
    self->socket_.async_read_some(asio::buffer(*buf), [self, buf, read](std::error_code ec, size_t n) {
      if (self->stopped_ || !self->probing_) {
        *read = nullptr;
        return;
      }
      if (ec) {
        *read = nullptr;  // breaks the self-reference
        return self->Done(false, ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor
                                     ? "no connection.start within " + std::to_string(self->timeout_.count()) + " ms"
                                     : "reading connection.start: " + ec.message() +
                                           (self->in_.empty() ? "" : "; the server sent " + Quote(self->in_)));
      }
      self->in_.append(buf->data(), n);
      amqp::FrameView frame;
      amqp::FrameError error;
      size_t used = 0;
      // The frame may not be larger than kMaxStartBytes: a bigger size is
      // refused as soon as its header has arrived.
      switch (amqp::DecodeFrame(self->in_, kMaxStartBytes, frame, used, error)) {
        case amqp::FrameDecode::kNeedMore:
          return (*read)();
        case amqp::FrameDecode::kError:
          *read = nullptr;
          return self->Done(false, NotAmqp(self->in_, "not an AMQP frame (" + error.text + ")"));
        case amqp::FrameDecode::kOk: break;
      }
      *read = nullptr;
      amqp::Method method;
      if (frame.type != amqp::kFrameMethod || frame.channel != 0 ||
          amqp::DecodeMethod(frame.payload, method) != amqp::MethodDecode::kOk ||
          !std::holds_alternative<amqp::ConnectionStart>(method))
        return self->Done(false, NotAmqp(self->in_, "first frame is not connection.start"));
      const auto& start = std::get<amqp::ConnectionStart>(method);
      self->Done(true, "connection.start, AMQP " + std::to_string(start.version_major) + "-" +
                           std::to_string(start.version_minor));
    });
  };
  (*read)();
}

void HealthCheck::Done(bool ok, const std::string& detail) {
  if (!probing_) return;  // a second failure of the same probe
  probing_ = false;
  deadline_.cancel();
  std::error_code ignored;
  socket_.close(ignored);
  const ServerConfig& c = server_->config();
  if (server_->RecordCheck(ok, detail)) {
    if (ok)
      spdlog::info("{}/{} is UP ({} checks passed: {})", listener_, c.name, c.rise, detail);
    else
      spdlog::warn("{}/{} ({}:{}) is DOWN ({} checks failed: {})", listener_, c.name, c.address.host,
                   c.address.port, c.fall, detail);
  }
  Schedule();
}

}  // namespace warren::balancer
