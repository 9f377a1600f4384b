#include "exporter/scraper.h"

#include <chrono>
#include <future>

#include <grpcpp/grpcpp.h>

#include "common/basic_auth.h"
#include "common/grpc_tls.h"

namespace warren::exporter {

namespace v1 = ::warren::v1;

// TLS channels when config.tls names any file; ConfigError (from
// GrpcChannelCredentials) when one cannot be used.
Scraper::Scraper(const ExporterConfig& config)
    : config_(config), authorization_(BasicAuthHeader(config.username, config.password)) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = tls::GrpcChannelCredentials(config.tls);
  for (const std::string& node : config_.nodes) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);  // nodes are reached directly
    args.SetMaxReceiveMessageSize(256 << 20);    // listings of many queues
    stubs_.push_back(v1::Admin::NewStub(
        grpc::CreateCustomChannel(node, credentials, args)));
  }
}

Scraper::~Scraper() = default;

bool Scraper::Begin(grpc::ClientContext* context) const {
  std::lock_guard lock(mu_);
  if (stopped_) return false;
  in_flight_.insert(context);
  return true;
}

void Scraper::End(grpc::ClientContext* context) const {
  std::lock_guard lock(mu_);
  in_flight_.erase(context);
}

void Scraper::Shutdown() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  for (grpc::ClientContext* c : in_flight_) c->TryCancel();
}

NodeSnapshot Scraper::Scrape(size_t i, Listings listings) const {
  NodeSnapshot s;
  s.address = config_.nodes[i];
  auto start = std::chrono::steady_clock::now();
  // gRPC takes system_clock deadlines; one deadline covers the node's calls.
  auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(config_.timeout_ms);
  auto call = [&](auto method, const auto& request, auto* response) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", authorization_);
    ctx.set_deadline(deadline);
    if (!Begin(&ctx)) {
      s.error = "the exporter is stopping";
      return false;
    }
    grpc::Status st = ((*stubs_[i]).*method)(&ctx, request, response);
    End(&ctx);
    if (!st.ok() && s.error.empty()) s.error = st.error_message();
    return st.ok();
  };
  v1::Empty empty;
  v1::ListRequest all;
  all.set_all_vhosts(true);
  s.up = call(&v1::Admin::Stub::ClusterStatus, empty, &s.cluster) &&
         call(&v1::Admin::Stub::Overview, empty, &s.overview) &&
         (!listings.queues || call(&v1::Admin::Stub::ListQueues, all, &s.queues)) &&
         (!listings.channels || call(&v1::Admin::Stub::ListChannels, all, &s.channels)) &&
         (!listings.connections || call(&v1::Admin::Stub::ListConnections, all, &s.connections)) &&
         (!listings.exchanges || call(&v1::Admin::Stub::ListExchanges, all, &s.exchanges)) &&
         (!listings.bindings || call(&v1::Admin::Stub::ListBindings, all, &s.bindings)) &&
         (!listings.vhosts || call(&v1::Admin::Stub::ListVHosts, empty, &s.vhosts));
  s.status = s.cluster.node();
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

std::vector<NodeSnapshot> Scraper::ScrapeAll(Listings listings) const {
  std::vector<std::future<NodeSnapshot>> pending;
  for (size_t i = 0; i < stubs_.size(); ++i)
    pending.push_back(std::async(std::launch::async, [this, i, listings] {
      return Scrape(i, listings);
    }));
  std::vector<NodeSnapshot> out;
  for (auto& f : pending) out.push_back(f.get());
  return out;
}

}  // namespace warren::exporter
