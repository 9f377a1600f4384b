#include "balancer/frontend.h"

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
    if (ec) {
      // EMFILE and friends: log, then try again rather than stop serving.
      spdlog::warn("{}: accept failed: {}", self->config_.name, ec.message());
      auto timer = std::make_shared<asio::steady_timer>(self->io_, Millis(100));
      timer->async_wait([self, timer](std::error_code) { self->ResumeAccepting(); });
      return;
    }
    self->OnAccept(std::move(s));
    self->ResumeAccepting();
  });
}

void Frontend::OnAccept(asio::ip::tcp::socket socket) {
  std::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  std::string ip = peer.address().to_string();
  std::shared_ptr<Server> server = pool_->Pick(ip, {});
  if (!server) {
    counters_.errors++;
    spdlog::warn("{}: no server is UP; refusing client {}:{}", config_.name, ip, peer.port());
    socket.close(ec);
    return;
  }
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
  if (sessions_.erase(session) == 0) return;
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
