// Reads every configured node's Admin service (Status, Overview and, when
// asked, ListQueues over all vhosts) concurrently, each within the
// configured timeout. A node that does not answer is reported down; the
// others are not held up by it.
//
// Thread-safe: the HTTP server calls ScrapeAll() from its worker threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "exporter/config.h"
#include "warren/v1/admin.grpc.pb.h"

namespace warren::exporter {

struct NodeSnapshot {
  std::string address;
  bool up = false;
  std::string error;  // why it is down
  double seconds = 0;
  warren::v1::StatusResponse status;
  warren::v1::OverviewResponse overview;
  warren::v1::ListQueuesResponse queues;
};

class Scraper {
 public:
  explicit Scraper(const ExporterConfig& config);
  ~Scraper();
  std::vector<NodeSnapshot> ScrapeAll(bool with_queues) const;

 private:
  NodeSnapshot Scrape(size_t node, bool with_queues) const;

  ExporterConfig config_;
  std::string authorization_;
  std::vector<std::unique_ptr<warren::v1::Admin::Stub>> stubs_;
};

}  // namespace warren::exporter
