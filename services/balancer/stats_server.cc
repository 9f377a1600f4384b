#include "balancer/stats_server.h"

#include <array>
#include <istream>

#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

#include "common/log.h"
#include "common/text.h"

namespace warren::balancer {

namespace {

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    default: return "Error";
  }
}

}  // namespace

// One connection, from accept to close. Owned by the server's open_ list
// and by its own pending handlers; `server_` is used only while `alive_`.
class StatsServer::Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(StatsServer& server, asio::ip::tcp::socket socket)
      : server_(server), alive_(server.alive_), socket_(std::move(socket)),
        buf_(kMaxRequestBytes), timer_(server.io_) {
    std::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    peer_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  void Start() {
    Deadline();
    asio::async_read_until(socket_, buf_, "\r\n\r\n",
                           [self = shared_from_this()](std::error_code ec, size_t) { self->OnRequest(ec); });
  }

  // Closes the socket now; pending handlers then find `closed_`.
  void Close() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    std::error_code ignored;
    socket_.close(ignored);
    if (*alive_) server_.Forget(this);
  }

  bool answering() const { return answering_; }
  std::list<std::shared_ptr<Exchange>>::iterator where;

 private:
  // kRequestTimeout from now for whatever the connection is waiting on.
  void Deadline() {
    timer_.expires_after(kRequestTimeout);
    timer_.async_wait([self = shared_from_this()](std::error_code ec) {
      if (!ec) self->Close();
    });
  }

  void OnRequest(std::error_code ec) {
    if (closed_ || !*alive_) return;
    std::string line;
    Response r;
    if (ec == asio::error::not_found) {  // the buffer filled without an end of headers
      std::getline(std::istream(&buf_), line);
      r = {431, "text/plain; charset=utf-8", "request line and headers must fit in 8 KiB\n"};
    } else if (ec) {
      return Close();  // gone, or closed by the deadline
    } else {
      std::getline(std::istream(&buf_), line);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      r = server_.Answer(line);
    }
    server_.LogRequest(peer_, line, r.status);
    bool head = line.rfind("HEAD ", 0) == 0;
    out_ = "HTTP/1.0 " + std::to_string(r.status) + " " + Reason(r.status) +
           "\r\nContent-Type: " + r.content_type + "\r\nContent-Length: " +
           std::to_string(r.body.size()) +
           (r.status == 405 ? "\r\nAllow: GET, HEAD" : "") +
           "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff"
           "\r\nConnection: close\r\n\r\n" +
           (head ? "" : r.body);
    answering_ = true;
    Deadline();  // the answer must be taken within the same time
    asio::async_write(socket_, asio::buffer(out_), [self = shared_from_this()](std::error_code ec, size_t) {
      if (self->closed_) return;
      if (ec) return self->Close();
      self->Linger();
    });
  }

  // After the answer: FIN, then read and drop what the client still sends
  // until it closes (or the deadline), so that unread request bytes do not
  // turn the close into a reset that could destroy the answer in flight.
  void Linger() {
    std::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    socket_.async_read_some(asio::buffer(drain_), [self = shared_from_this()](std::error_code ec, size_t) {
      if (self->closed_) return;
      if (ec) return self->Close();
      self->Linger();
    });
  }

  StatsServer& server_;
  std::shared_ptr<bool> alive_;
  asio::ip::tcp::socket socket_;
  asio::streambuf buf_;
  asio::steady_timer timer_;
  std::string peer_;
  std::string out_;
  std::array<char, 512> drain_;
  bool answering_ = false;
  bool closed_ = false;
};

StatsServer::StatsServer(asio::io_context& io, std::function<Frontends()> frontends)
    : io_(io), frontends_(std::move(frontends)), acceptor_(io) {}

void StatsServer::Open(const StatsConfig& config) {
  config_ = config;
  asio::ip::tcp::endpoint endpoint(asio::ip::make_address(config.bind->host), config.bind->port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen();
  spdlog::info("stats listening on {}:{}{}", config.bind->host, acceptor_.local_endpoint().port(),
               config.uri);
  Accept();
}

void StatsServer::Close() {
  *alive_ = false;
  std::error_code ignored;
  acceptor_.close(ignored);
  for (auto& e : open_) e->Close();
  open_.clear();
}

void StatsServer::Accept() {
  acceptor_.async_accept([this, alive = alive_](std::error_code ec, asio::ip::tcp::socket s) {
    if (!*alive) return;
    if (ec) return OnAcceptFailed(ec);
    if (failed_accepts_ > 0) {
      spdlog::info("stats: accepting again after {} failed accepts", failed_accepts_);
      failed_accepts_ = 0;
    }
    Admit(std::move(s));
    Accept();
  });
}

void StatsServer::OnAcceptFailed(std::error_code ec) {
  // Out of file descriptors: the client stays in the backlog, and accepting
  // again at once would fail again at once, spinning the loop.
  if (failed_accepts_++ == 0)
    spdlog::warn("stats: accept failed: {}; retrying every 100 ms", ec.message());
  auto timer = std::make_shared<asio::steady_timer>(io_, Millis(100));
  timer->async_wait([this, alive = alive_, timer](std::error_code) {
    if (*alive) Accept();
  });
}

void StatsServer::Admit(asio::ip::tcp::socket socket) {
  if (open_.size() >= kMaxConnections) {
    // Make room: the oldest connection still sending its request (slow
    // clients are the ones that linger), else the oldest of all.
    auto victim = open_.begin();
    for (auto it = open_.begin(); it != open_.end(); ++it)
      if (!(*it)->answering()) {
        victim = it;
        break;
      }
    (*victim)->Close();
  }
  auto e = std::make_shared<Exchange>(*this, std::move(socket));
  e->where = open_.insert(open_.end(), e);
  e->Start();
}

void StatsServer::Forget(Exchange* exchange) { open_.erase(exchange->where); }

void StatsServer::LogRequest(const std::string& peer, const std::string& line, int status) {
  if (status < 400) {
    spdlog::debug("stats: {} \"{}\" {}", peer, LogSafe(line, 200), status);
  } else if (auto more = log_budget_.Allow()) {
    spdlog::info("stats: {} \"{}\" {}{}", peer, LogSafe(line, 200), status, *more);
  }
}

StatsServer::Response StatsServer::Answer(const std::string& request_line) const {
  // "GET /path?query HTTP/1.1"
  size_t sp1 = request_line.find(' ');
  size_t sp2 = sp1 == std::string::npos ? sp1 : request_line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos || request_line.compare(sp2 + 1, 5, "HTTP/") != 0 ||
      request_line[sp1 + 1] != '/')
    return {400, "text/plain; charset=utf-8", "expected \"GET /path HTTP/1.x\"\n"};
  std::string method = request_line.substr(0, sp1);
  std::string target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (method != "GET" && method != "HEAD")
    return {405, "text/plain; charset=utf-8", "only GET and HEAD\n"};
  std::string path = target.substr(0, target.find('?'));
  std::string query = path.size() < target.size() ? target.substr(path.size() + 1) : "";
  const std::string& uri = config_.uri;
  if (path == "/metrics" || path == uri + "/metrics")
    return {200, "text/plain; version=0.0.4", RenderPrometheus(frontends_())};
  if (path == uri || path == uri + "/") {
    if (query.find("format=json") != std::string::npos)
      return {200, "application/json", RenderJson(frontends_())};
    return {200, "text/html; charset=utf-8", RenderHtml(frontends_(), config_.refresh, uri)};
  }
  return {404, "text/plain; charset=utf-8", "not found; try " + uri + "\n"};
}

}  // namespace warren::balancer
