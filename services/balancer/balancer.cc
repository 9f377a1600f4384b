#include "balancer/balancer.h"

#include <algorithm>

#include "common/log.h"

namespace warren::balancer {

namespace {
bool SameAddress(const HostPort& a, const HostPort& b) { return a.host == b.host && a.port == b.port; }
}  // namespace

Balancer::Balancer(asio::io_context& io, std::string config_path)
    : io_(io), path_(std::move(config_path)), stop_timer_(io) {
  global_.on_release = [this] {
    for (auto& f : frontends_) f->ResumeAccepting();
    std::erase_if(draining_, [](const auto& f) { return f->session_count() == 0; });
    if (on_stopped_) CheckStopped();
  };
}

Balancer::~Balancer() {
  for (auto& f : frontends_) f->StopAccepting();
  if (stats_) stats_->Close();
}

void Balancer::Start(const BalancerConfig& config) { Apply(config); }

void Balancer::Reload() {
  if (path_.empty()) {
    spdlog::warn("SIGHUP: running on built-in defaults, no file to re-read");
    return;
  }
  try {
    BalancerConfig next = LoadConfigFile(path_);
    Apply(next);
    spdlog::info("SIGHUP: reloaded {} ({} listeners)", path_, next.listens.size());
  } catch (const ConfigError& e) {
    spdlog::error("SIGHUP: {}; keeping the running configuration", e.what());
  } catch (const std::system_error& e) {
    spdlog::error("SIGHUP: {}; keeping the running configuration", e.what());
  }
}

void Balancer::Apply(const BalancerConfig& config) {
  // Open everything new first, so a failed bind leaves the old state whole.
  std::vector<std::shared_ptr<Frontend>> next, opened;
  std::unique_ptr<StatsServer> new_stats;
  try {
    for (const ListenConfig& l : config.listens) {
      std::shared_ptr<Frontend> kept;
      for (auto& f : frontends_)
        if (f->name() == l.name && SameAddress(f->config().bind, l.bind)) kept = f;
      if (!kept) {
        kept = std::make_shared<Frontend>(io_, global_);
        kept->Open(l, config);
        opened.push_back(kept);
      }
      next.push_back(kept);
    }
    bool same_stats = stats_ && config.stats.bind && SameAddress(*stats_->config().bind, *config.stats.bind);
    if (config.stats.bind && !same_stats) {
      new_stats = std::make_unique<StatsServer>(io_, [this] { return frontends_; });
      new_stats->Open(config.stats);
    }
  } catch (const std::system_error& e) {
    for (auto& f : opened) f->StopAccepting();
    throw std::system_error(e.code(), "cannot listen: " + std::string(e.what()));
  }
  for (auto& f : frontends_)
    if (std::find(next.begin(), next.end(), f) == next.end()) {
      f->StopAccepting();
      if (f->session_count() > 0) draining_.push_back(f);
    }
  for (size_t i = 0; i < next.size(); ++i)
    if (std::find(opened.begin(), opened.end(), next[i]) == opened.end())
      next[i]->Reconfigure(config.listens[i], config);
  if (new_stats || !config.stats.bind) {
    if (stats_) stats_->Close();
    stats_ = std::move(new_stats);
  } else {
    stats_->Update(config.stats);
  }
  frontends_ = std::move(next);
  config_ = config;
  global_.maxconn = config.maxconn;
  for (auto& f : frontends_) f->ResumeAccepting();
}

void Balancer::Stop(std::function<void()> done) {
  on_stopped_ = std::move(done);
  for (auto& f : frontends_) f->StopAccepting();
  if (stats_) stats_->Close();
  spdlog::info("stopping: {} sessions open, waiting up to {} ms", global_.active,
               config_.hard_stop_after.count());
  stop_timer_.expires_after(config_.hard_stop_after);
  stop_timer_.async_wait([this](std::error_code ec) {
    if (ec) return;
    spdlog::warn("stopping: hard_stop_after reached, closing {} sessions", global_.active);
    for (auto& f : frontends_) f->CloseSessions("balancer stopping");
    for (auto& f : draining_) f->CloseSessions("balancer stopping");
  });
  CheckStopped();
}

void Balancer::CheckStopped() {
  if (global_.active > 0 || !on_stopped_) return;
  stop_timer_.cancel();
  auto done = std::move(on_stopped_);
  on_stopped_ = nullptr;
  asio::post(io_, done);
}

}  // namespace warren::balancer
