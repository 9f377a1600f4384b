// Reads every configured node's Admin service (ClusterStatus, Overview and,
// as the scrape needs them, ListQueues, ListChannels, ListConnections,
// ListExchanges, ListBindings over all vhosts, and ListVHosts) concurrently, each within the configured timeout. A node that
// does not answer is reported down; the others are not held up by it.
//
// Thread-safe: the HTTP server calls ScrapeAll() from its worker threads;
// Shutdown() (from the signal thread) cancels the reads in flight and makes
// later ones fail at once, so a stop is not held up by a slow node.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/client_context.h>

#include "exporter/config.h"
#include "warren/v1/admin.grpc.pb.h"

namespace warren::exporter {

struct NodeSnapshot {
  std::string address;
  bool up = false;
  std::string error;  // why it is down
  double seconds = 0;
  warren::v1::ClusterStatusResponse cluster;  // its members as it sees them, and its status
  warren::v1::StatusResponse status;          // cluster.node()
  warren::v1::OverviewResponse overview;
  warren::v1::ListQueuesResponse queues;
  warren::v1::ListChannelsResponse channels;
  warren::v1::ListConnectionsResponse connections;
  warren::v1::ListExchangesResponse exchanges;
  warren::v1::ListBindingsResponse bindings;
  warren::v1::ListVHostsResponse vhosts;
};

// What a scrape reads beyond each node's status and overview.
struct Listings {
  bool queues = false;
  bool channels = false;
  bool connections = false;
  bool exchanges = false;
  bool bindings = false;
  bool vhosts = false;
};

class Scraper {
 public:
  explicit Scraper(const ExporterConfig& config);
  ~Scraper();
  std::vector<NodeSnapshot> ScrapeAll(Listings listings) const;
  void Shutdown();

 private:
  NodeSnapshot Scrape(size_t node, Listings listings) const;
  bool Begin(grpc::ClientContext* context) const;  // false once shut down
  void End(grpc::ClientContext* context) const;

  ExporterConfig config_;
  std::string authorization_;
  std::vector<std::unique_ptr<warren::v1::Admin::Stub>> stubs_;
  mutable std::mutex mu_;
  bool stopped_ = false;                              // guarded by mu_
  mutable std::set<grpc::ClientContext*> in_flight_;  // guarded by mu_
};

}  // namespace warren::exporter
