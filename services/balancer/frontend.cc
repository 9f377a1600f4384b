#include "balancer/frontend.h"

#include <asio/steady_timer.hpp>

#include "common/log.h"

namespace warren::balancer {

Frontend::Frontend(asio::io_context& io, GlobalLimit& global)
    : io_(io), global_(global), acceptor_(io) {}

Frontend::~Frontend() { StopChecks(); }

void Frontend::Open(const ListenConfig& config, const BalancerConfig& defaults) {
  asio::ip::tcp::endpoint endpoint(asio::ip::make_address(config.bind.host), config.bind.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
  open_ = true;
  Reconfigure(config, defaults);
  spdlog::info("{}: listening on {}:{} ({}, {} servers)", config_.name, config_.bind.host, port_,
               BalanceName(config_.balance), config_.servers.size());
  ResumeAccepting();
}

void Frontend::Reconfigure(const ListenConfig& config, const BalancerConfig& defaults) {
  StopChecks();
  std::vector<std::shared_ptr<Server>> servers;
  for (const ServerConfig& sc : config.servers) {
    // The same server (name and address) keeps its state and counters.
    std::shared_ptr<Server> old = pool_ ? pool_->Find(sc.name) : nullptr;
    bool same = old && old->config().address.host == sc.address.host &&
                old->config().address.port == sc.address.port;
    servers.push_back(same ? old : std::make_shared<Server>(sc));
    if (same) servers.back()->Reconfigure(sc);
  }
  config_ = config;
  timeouts_ = Timeouts{defaults.timeout_connect,    defaults.timeout_client,
                       defaults.timeout_server,     defaults.timeout_client_fin,
                       defaults.timeout_server_fin, defaults.retries};
  pool_ = std::make_unique<ServerPool>(config.balance, std::move(servers));
  StartChecks();
}

void Frontend::StartChecks() {
  for (const auto& s : pool_->servers()) {
    checks_.push_back(std::make_shared<HealthCheck>(io_, s, config_.name, timeouts_.connect));
    checks_.back()->Start();
  }
}

void Frontend::StopChecks() {
  for (auto& c : checks_) c->Stop();
  checks_.clear();
}

bool Frontend::AtLimit() const {
  if (config_.maxconn > 0 && static_cast<int>(sessions_.size()) >= config_.maxconn) return true;
  return global_.active >= global_.maxconn;
}

void Frontend::ResumeAccepting() {
  if (open_ && !accepting_ && !AtLimit()) Accept();
}

void Frontend::Accept() {
  accepting_ = true;
  acceptor_.async_accept([self = shared_from_this()](std::error_code ec, asio::ip::tcp::socket s) {
    self->accepting_ = false;
    if (!self->open_) return;
    if (ec) return self->OnAcceptFailed(ec);
    if (self->failed_accepts_ > 0) {
      spdlog::info("{}: accepting again after {} failed accepts", self->config_.name,
                   self->failed_accepts_);
      self->failed_accepts_ = 0;
    }
    self->OnAccept(std::move(s));
    self->ResumeAccepting();
  });
}

void Frontend::OnAcceptFailed(std::error_code ec) {
  // Out of file descriptors (EMFILE, ENFILE) or buffers: the client stays
  // in the backlog, so accepting again at once would fail again at once and
  // spin the loop. Pause instead; a session ending frees a descriptor and
  // resumes sooner.
  if (failed_accepts_++ == 0)
    spdlog::warn("{}: accept failed: {}; retrying every 100 ms", config_.name, ec.message());
  auto timer = std::make_shared<asio::steady_timer>(io_, Millis(100));
  timer->async_wait([self = shared_from_this(), timer](std::error_code) { self->ResumeAccepting(); });
}

void Frontend::Refuse(asio::ip::tcp::socket& socket, const std::string& why) {
  counters_.errors++;
  if (auto more = refusals_log_.Allow()) spdlog::warn("{}: {}{}", config_.name, why, *more);
  std::error_code ignored;
  socket.close(ignored);
}

void Frontend::OnAccept(asio::ip::tcp::socket socket) {
  std::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  std::string ip = peer.address().to_string();
  std::string client = ip + ":" + std::to_string(peer.port());
  int& from_ip = per_source_[ip];
  if (config_.maxconn_per_source > 0 && from_ip >= config_.maxconn_per_source) {
    return Refuse(socket, ip + " already holds " + std::to_string(from_ip) +
                              " sessions (maxconn_per_source); refusing client " + client);
  }
  std::shared_ptr<Server> server = pool_->Pick(ip, {});
  if (!server) {
    if (from_ip == 0) per_source_.erase(ip);
    return Refuse(socket, "no server is UP; refusing client " + client);
  }
  from_ip++;
  auto session = std::make_shared<Session>(io_, std::move(socket), shared_from_this(), timeouts_);
  sessions_.emplace(session.get(), session);
  global_.active++;
  session->Start(std::move(server));
}

std::shared_ptr<Server> Frontend::PickServer(const std::string& client_ip,
                                             const std::vector<const Server*>& tried) {
  return pool_->Pick(client_ip, tried);
}

void Frontend::SessionEnded(Session* session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  if (auto source = per_source_.find(session->client_ip());
      source != per_source_.end() && --source->second <= 0)
    per_source_.erase(source);
  sessions_.erase(it);
  global_.active--;
  ResumeAccepting();
  if (global_.on_release) global_.on_release();
}

void Frontend::StopAccepting() {
  if (!open_) return;
  open_ = false;
  std::error_code ignored;
  acceptor_.close(ignored);
  StopChecks();
  spdlog::info("{}: stopped accepting ({} sessions still open)", config_.name, sessions_.size());
}

void Frontend::CloseSessions(const std::string& reason) {
  for (auto& [ptr, session] : sessions_) session->Close(reason);
}

}  // namespace warren::balancer
