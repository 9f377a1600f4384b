#include "broker/cluster/peer_probe.h"

#include <thread>

#include "broker/cluster/cluster_service.h"

namespace warren::cluster {

PeerProbe::PeerProbe(const Secret& secret, std::string self, int64_t timeout_ms)
    : secret_(secret), self_(std::move(self)), timeout_ms_(timeout_ms) {}

std::vector<PeerProbe::Answer> PeerProbe::Probe(const std::vector<std::string>& addresses) {
  std::vector<Answer> answers(addresses.size());
  {
    std::vector<std::jthread> pings;
    for (size_t i = 0; i < addresses.size(); ++i) {
      pings.emplace_back([this, &address = addresses[i], &answer = answers[i]] {
        PeerClient client(address, secret_, self_, timeout_ms_);
        PingState state;
        answer.running = client.Ping(answer.node_name, state).ok() && state.running;
      });
    }
  }  // every ping has answered or timed out
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < addresses.size(); ++i) {
    Answer& answer = answers[i];
    if (answer.running) {
      names_[addresses[i]] = answer.node_name;
    } else if (auto known = names_.find(addresses[i]); known != names_.end()) {
      answer.node_name = known->second;
    } else {
      answer.node_name.clear();
    }
  }
  return answers;
}

}  // namespace warren::cluster
