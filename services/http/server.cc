// The server on Boost.Beast: one Session per connection, driven by the I/O
// thread; each Session has at most one request in flight, whose Handler
// calls run on the pool and post their result back to the I/O thread.
// Beast stays in this file (it is slow to compile).
#include "http/server.h"

#include <sys/resource.h>

#include <atomic>
#include <cctype>
#include <limits>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/log.h"
#include "common/text.h"

namespace warren::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

bool SameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// The client's address as text; an IPv4 client of a dual-stack socket as IPv4.
std::string PeerAddress(const tcp::socket& socket) {
  error_code ec;
  tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return "";
  net::ip::address a = peer.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    a = net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
  return a.to_string();
}

}  // namespace

std::string Request::Header(std::string_view name) const {
  for (const Field& f : headers)
    if (SameName(f.name, name)) return f.value;
  return "";
}

bool Request::HasHeader(std::string_view name) const {
  for (const Field& f : headers)
    if (SameName(f.name, name)) return true;
  return false;
}

struct Server::Impl {
  Impl(Handler& h, const Limits& l)
      : handler(h),
        limits(l),
        acceptor(io),
        workers(std::max<size_t>(1, l.workers)) {}
  void Accept();

  Handler& handler;
  const Limits limits;
  std::atomic<size_t> connections{0};
  size_t max_connections = 0;  // limits.max_connections, within the file limit
  // Declared before the I/O context: Sessions destroyed with it still count.
  net::io_context io;
  tcp::acceptor acceptor;
  net::thread_pool workers;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server::Impl& server, tcp::socket socket)
      : server_(server), limits_(server.limits), stream_(std::move(socket)) {
    ++server_.connections;
  }
  ~Session() { --server_.connections; }

  void Start() {
    request_peer_ = PeerAddress(stream_.socket());
    ReadHead();
  }

 private:
  using HeadParser = bhttp::request_parser<bhttp::empty_body>;
  using BodyParser = bhttp::request_parser<bhttp::string_body>;

  // Keep-alive: the next request's first byte within idle_timeout, then
  // its head within head_timeout.
  void AwaitRequest() {
    if (buffer_.size() > 0) return ReadHead();
    stream_.expires_after(limits_.idle_timeout);
    auto self = shared_from_this();
    stream_.async_read_some(buffer_.prepare(4096), [self](error_code ec, size_t n) {
      if (ec) return self->Close();
      self->buffer_.commit(n);
      self->ReadHead();
    });
  }

  void ReadHead() {
    request_ = Request{};
    head_.emplace();
    head_->header_limit(static_cast<uint32_t>(limits_.head_limit));
    // The body's size is checked after Admit, so a 401 comes before a 413.
    // (Beast 1.74 compares the length with an empty optional as "above it",
    // so "no limit" is the largest one.)
    head_->body_limit(std::numeric_limits<uint64_t>::max());
    stream_.expires_after(limits_.head_timeout);
    auto self = shared_from_this();
    bhttp::async_read_header(stream_, buffer_, *head_,
                             [self](error_code ec, size_t) { self->OnHead(ec); });
  }

  void OnHead(error_code ec) {
    if (ec == bhttp::error::header_limit) return Refuse(431, "the request head is too large");
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset)
      return Close();
    if (ec) return Refuse(400, "malformed request: " + ec.message());
    stream_.expires_never();
    const auto& head = head_->get();
    request_.method = std::string(head.method_string());
    request_.target = std::string(head.target());
    request_.peer = request_peer_;
    for (const auto& field : head) {
      if (request_.headers.size() == limits_.max_headers)
        return Refuse(431, "more than " + std::to_string(limits_.max_headers) + " headers");
      request_.headers.push_back({std::string(field.name_string()), std::string(field.value())});
    }
    if (request_.target.size() > limits_.max_target) return Refuse(414, "the URI is too long");
    if (boost::optional<uint64_t> n = head_->content_length()) request_.content_length = *n;
    request_.has_body = !head_->is_done();
    keep_alive_ = head_->keep_alive();
    OnPool([](Handler& h, const Request& r) { return h.Admit(r); },
           [](Session& s, std::optional<Response> r) { s.OnAdmitted(std::move(r)); });
  }

  void OnAdmitted(std::optional<Response> early) {
    if (early) return Send(std::move(*early), request_.has_body);
    if (!request_.has_body) return Dispatch();
    if (request_.content_length && *request_.content_length > limits_.body_limit)
      return Refuse(413, "the body is larger than " + std::to_string(limits_.body_limit) +
                             " bytes");
    if (SameName(request_.Header("Expect"), "100-continue")) return Continue();
    ReadBody();
  }

  // The client waits for "100 Continue" before it sends the body.
  void Continue() {
    continue_.emplace(bhttp::status::continue_, 11);
    stream_.expires_after(limits_.write_timeout);
    auto self = shared_from_this();
    bhttp::async_write(stream_, *continue_, [self](error_code ec, size_t) {
      if (ec) return self->Close();
      self->ReadBody();
    });
  }

  void ReadBody() {
    body_.emplace(std::move(*head_));
    body_->body_limit(limits_.body_limit);
    stream_.expires_after(limits_.body_timeout);
    auto self = shared_from_this();
    bhttp::async_read(stream_, buffer_, *body_,
                      [self](error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(error_code ec) {
    if (ec == bhttp::error::body_limit)
      return Refuse(413, "the body is larger than " + std::to_string(limits_.body_limit) +
                             " bytes");
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset)
      return Close();
    if (ec) return Refuse(400, "malformed body: " + ec.message());
    stream_.expires_never();
    request_.body = std::move(body_->get().body());
    body_.reset();
    Dispatch();
  }

  void Dispatch() {
    OnPool([](Handler& h, const Request& r) { return h.Serve(r); },
           [](Session& s, Response r) { s.Send(std::move(r), false); });
  }

  // Runs `work` on the pool (an exception becomes a 500), then `then` on
  // the I/O thread with its result.
  template <typename Work, typename Then>
  void OnPool(Work work, Then then) {
    auto self = shared_from_this();
    net::post(server_.workers, [self, work, then] {
      using Result = decltype(work(self->server_.handler, self->request_));
      std::optional<Result> result;
      try {
        result.emplace(work(self->server_.handler, self->request_));
      } catch (const std::exception& e) {
        spdlog::error("{} {}: handler failed: {}", LogSafe(self->request_.method),
                      LogSafe(self->request_.target), LogSafe(e.what()));
      }
      net::post(self->stream_.get_executor(), [self, then, result = std::move(result)]() mutable {
        if (!result) return self->Refuse(500, "internal error");
        then(*self, std::move(*result));
      });
    });
  }

  // A refusal of the server's own; the connection closes after it, since
  // the rest of what the client sent is unread or unreadable.
  void Refuse(int status, const std::string& reason) {
    Response r;
    try {
      r = server_.handler.Refuse(status, reason);
    } catch (const std::exception&) {
      r = Response{status, "text/plain", {}, reason + "\n"};
    }
    Send(std::move(r), true);
  }

  void Send(Response r, bool close) {
    close = close || !keep_alive_;
    response_.emplace(static_cast<bhttp::status>(r.status), 11);
    for (const Field& f : r.headers) response_->set(f.name, f.value);
    if (!r.content_type.empty()) response_->set(bhttp::field::content_type, r.content_type);
    if (request_.method == "HEAD") {
      response_->content_length(r.body.size());
    } else {
      response_->body() = std::move(r.body);
      response_->prepare_payload();
    }
    response_->keep_alive(!close);
    stream_.expires_after(limits_.write_timeout);
    auto self = shared_from_this();
    bhttp::async_write(stream_, *response_, [self, close](error_code ec, size_t) {
      self->response_.reset();
      if (ec) return self->Close();
      if (close) return self->Linger();
      self->AwaitRequest();
    });
  }

  // Half-closes, then reads and drops what the client still sends (for at
  // most two seconds and a megabyte), so the reply is not lost to a reset.
  void Linger() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    buffer_.clear();
    Drain(0);
  }

  void Drain(size_t drained) {
    if (drained > (1 << 20)) return Close();
    auto self = shared_from_this();
    stream_.async_read_some(buffer_.prepare(16384), [self, drained](error_code ec, size_t n) {
      if (ec) return self->Close();
      self->Drain(drained + n);
    });
  }

  void Close() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  Server::Impl& server_;
  const Limits& limits_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<HeadParser> head_;
  std::optional<BodyParser> body_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  Request request_;
  std::string request_peer_;
  bool keep_alive_ = true;
};

}  // namespace

void Server::Impl::Accept() {
  acceptor.async_accept([this](error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec) {
      // Out of file descriptors, most likely: try again shortly.
      spdlog::warn("http accept failed: {}", ec.message());
      auto timer = std::make_shared<net::steady_timer>(io, std::chrono::milliseconds(100));
      timer->async_wait([this, timer](error_code e) {
        if (!e) Accept();
      });
      return;
    }
    if (connections.load() >= max_connections) {
      error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<Session>(*this, std::move(socket))->Start();
    }
    Accept();
  });
}

Server::Server(Handler& handler, const Limits& limits)
    : impl_(std::make_unique<Impl>(handler, limits)) {}

Server::~Server() {
  Stop();
  impl_->workers.stop();
  impl_->workers.join();
}

namespace {

// Raises the open-file limit to the hard limit (one descriptor per client)
// and lowers max_connections to what it leaves room for, so accept never
// fails for want of descriptors.
size_t ConnectionsAllowed(size_t wanted) {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return wanted;
  if (files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
    getrlimit(RLIMIT_NOFILE, &files);
  }
  constexpr rlim_t kReserved = 64;  // gRPC channels, logs, the UI's files
  if (files.rlim_cur == RLIM_INFINITY || files.rlim_cur > wanted + kReserved) return wanted;
  return files.rlim_cur > 2 * kReserved ? files.rlim_cur - kReserved : files.rlim_cur / 2;
}

}  // namespace

Result<uint16_t> Server::Listen(const std::string& host, uint16_t port) {
  impl_->max_connections = ConnectionsAllowed(impl_->limits.max_connections);
  error_code ec;
  tcp::endpoint at;
  if (net::ip::address address = net::ip::make_address(host, ec); !ec) {
    at = tcp::endpoint(address, port);
  } else {
    tcp::resolver resolver(impl_->io);
    auto found = resolver.resolve(host, std::to_string(port), ec);
    if (ec || found.empty()) return Error{0, "cannot resolve \"" + host + "\""};
    at = found.begin()->endpoint();
  }
  tcp::acceptor& a = impl_->acceptor;
  if (a.open(at.protocol(), ec); ec) return Error{0, ec.message()};
  a.set_option(net::socket_base::reuse_address(true), ec);
  if (a.bind(at, ec); ec) return Error{0, ec.message()};
  if (a.listen(net::socket_base::max_listen_connections, ec); ec) return Error{0, ec.message()};
  return a.local_endpoint().port();
}

void Server::Run() {
  impl_->Accept();
  impl_->io.run();
}

void Server::Stop() {
  // The I/O context's stop is thread-safe; the acceptor and the sessions
  // are closed when the context and the Server go.
  impl_->io.stop();
}

}  // namespace warren::http
