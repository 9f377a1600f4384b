#include "balancer/stats_server.h"

#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

#include "common/log.h"

namespace warren::balancer {

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
}

void StatsServer::Accept() {
  acceptor_.async_accept([this, alive = alive_](std::error_code ec, asio::ip::tcp::socket s) {
    if (!*alive) return;
    if (!ec) Serve(std::make_shared<asio::ip::tcp::socket>(std::move(s)));
    Accept();
  });
}

void StatsServer::Serve(std::shared_ptr<asio::ip::tcp::socket> socket) {
  auto buf = std::make_shared<asio::streambuf>(8192);
  auto timer = std::make_shared<asio::steady_timer>(io_, Millis(5000));
  timer->async_wait([socket](std::error_code ec) {
    if (!ec) socket->close(ec);
  });
  asio::async_read_until(*socket, *buf, "\r\n\r\n",
                         [this, alive = alive_, socket, buf, timer](std::error_code ec, size_t) {
    timer->cancel();
    if (ec || !*alive) return;
    std::string line;
    std::istream in(buf.get());
    std::getline(in, line);
    Response r = Answer(line);
    static const char* kReason[] = {"OK", "Not Found", "Method Not Allowed"};
    const char* reason = r.status == 200 ? kReason[0] : r.status == 404 ? kReason[1] : kReason[2];
    auto out = std::make_shared<std::string>(
        "HTTP/1.0 " + std::to_string(r.status) + " " + reason + "\r\nContent-Type: " +
        r.content_type + "\r\nContent-Length: " + std::to_string(r.body.size()) +
        "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" + r.body);
    asio::async_write(*socket, asio::buffer(*out), [socket, out](std::error_code ec, size_t) {
      socket->shutdown(asio::ip::tcp::socket::shutdown_both, ec);
      socket->close(ec);
    });
  });
}

StatsServer::Response StatsServer::Answer(const std::string& request_line) const {
  // "GET /path?query HTTP/1.1"
  size_t sp1 = request_line.find(' ');
  size_t sp2 = request_line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) return {404, "text/plain", "bad request\n"};
  std::string method = request_line.substr(0, sp1);
  std::string target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (method != "GET" && method != "HEAD") return {405, "text/plain", "only GET\n"};
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
  return {404, "text/plain", "not found; try " + uri + "\n"};
}

}  // namespace warren::balancer
