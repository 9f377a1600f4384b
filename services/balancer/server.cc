#include "balancer/server.h"

#include <ctime>

namespace warren::balancer {

bool Server::RecordCheck(bool ok, std::string detail) {
  last_check_ = std::move(detail);
  last_check_ok_ = ok;
  last_check_time_ = static_cast<int64_t>(std::time(nullptr));
  if (ok == up_) {
    streak_ = 0;
    return false;
  }
  // A result against the current state: `rise` successes bring a DOWN
  // server up, `fall` failures take an UP one down.
  if (++streak_ < (up_ ? config_.fall : config_.rise)) return false;
  up_ = ok;
  streak_ = 0;
  ++state_changes_;
  return true;
}

}  // namespace warren::balancer
