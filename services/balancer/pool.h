// The servers of one listener and the choice of a server for a new client:
// roundrobin (smooth weighted: weight 3 gets three of every four picks
// against weight 1, interleaved), leastconn (fewest open sessions per unit of
// weight, ties taken in turn), source (a hash of the client's IP address over
// the weights, so a client keeps its server while the set of UP servers stays
// the same). Backup servers are chosen only when no other server is UP.
//
// Single-threaded, no I/O; owned by a Frontend (shared with its sessions).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "balancer/server.h"

namespace warren::balancer {

class ServerPool {
 public:
  ServerPool(Balance balance, std::vector<std::shared_ptr<Server>> servers)
      : balance_(balance), servers_(std::move(servers)) {}

  // A server for a client from `client_ip`, avoiding those in `tried` (the
  // connect retries) while another UP server remains; nullptr when none is UP.
  std::shared_ptr<Server> Pick(const std::string& client_ip,
                               const std::vector<const Server*>& tried);
  bool AnyUp() const;

  Balance balance() const { return balance_; }
  const std::vector<std::shared_ptr<Server>>& servers() const { return servers_; }
  std::shared_ptr<Server> Find(const std::string& name) const;

 private:
  std::vector<Server*> Candidates(const std::vector<const Server*>& tried) const;
  Server* RoundRobin(const std::vector<Server*>& c);
  Server* LeastConn(const std::vector<Server*>& c);
  static Server* Source(const std::vector<Server*>& c, const std::string& client_ip);

  Balance balance_;
  std::vector<std::shared_ptr<Server>> servers_;
  size_t turn_ = 0;  // leastconn's tie-break rotation
};

}  // namespace warren::balancer
