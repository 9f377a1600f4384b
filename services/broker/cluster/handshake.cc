#include "broker/cluster/handshake.h"

#include <stdexcept>

#include <openssl/rand.h>

namespace warren::cluster {
namespace {

void Field(std::string& out, std::string_view field) {
  uint32_t n = static_cast<uint32_t>(field.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(field);
}

std::string Transcript(std::string_view role, std::initializer_list<std::string_view> fields) {
  std::string out = "warren-cluster-v1";
  Field(out, role);
  for (std::string_view f : fields) Field(out, f);
  return out;
}

}  // namespace

std::string RandomChallenge() {
  std::string out(kChallengeSize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size())) != 1)
    throw std::runtime_error("no random bytes for a cluster challenge");
  return out;
}

std::string ServerTranscript(std::string_view client_challenge, std::string_view server_challenge,
                             std::string_view caller, std::string_view callee) {
  return Transcript("server", {client_challenge, server_challenge, caller, callee});
}

std::string ClientTranscript(std::string_view client_challenge, std::string_view server_challenge,
                             std::string_view caller, std::string_view callee,
                             std::string_view method) {
  return Transcript("client", {client_challenge, server_challenge, caller, callee, method});
}

std::string SessionTable::Open(std::string client_challenge, std::string caller, int64_t now_ms) {
  std::string challenge = RandomChallenge();
  std::lock_guard lock(mu_);
  while (by_challenge_.size() >= capacity_ && !by_order_.empty()) {
    by_challenge_.erase(by_order_.begin()->second);
    by_order_.erase(by_order_.begin());
  }
  uint64_t order = next_order_++;
  by_challenge_[challenge] = {{std::move(client_challenge), std::move(caller)}, now_ms, order};
  by_order_[order] = challenge;
  return challenge;
}

std::optional<SessionTable::Session> SessionTable::Take(const std::string& server_challenge,
                                                        int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = by_challenge_.find(server_challenge);
  if (it == by_challenge_.end()) return std::nullopt;
  Entry entry = std::move(it->second);
  by_order_.erase(entry.order);
  by_challenge_.erase(it);
  if (now_ms - entry.opened_ms > ttl_ms_) return std::nullopt;
  return std::move(entry.session);
}

size_t SessionTable::size() const {
  std::lock_guard lock(mu_);
  return by_challenge_.size();
}

}  // namespace warren::cluster
