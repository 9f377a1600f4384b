#include "broker/cluster/membership.h"

#include <algorithm>
#include <charconv>

#include "broker/cluster/cluster_service.h"

namespace warren::cluster {

std::string EncodeMemberAddress(const MemberAddress& a) {
  return a.node.empty() ? a.grpc : a.grpc + " " + a.node;
}

MemberAddress DecodeMemberAddress(std::string_view text) {
  size_t space = text.find(' ');
  if (space == std::string_view::npos) return {std::string(text), ""};
  return {std::string(text.substr(0, space)), std::string(text.substr(space + 1))};
}

namespace {

bool IsPort(std::string_view text) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return ec == std::errc() && end == text.data() + text.size() && port > 0 && port < 65536;
}

Error Unusable(std::string_view text) {
  return Error{400, "'" + std::string(text) +
                        "' is neither a node name (warren@HOST) nor a gRPC address (HOST:PORT)"};
}

}  // namespace

Result<std::string> NodeAddress(std::string_view text) {
  if (text.empty() || text.size() > kMaxGrpcAddress || text.find(' ') != std::string_view::npos)
    return Unusable(text);
  if (size_t at = text.find('@'); at != std::string_view::npos) {
    std::string_view host = text.substr(at + 1);
    if (at == 0 || host.empty() || host.find('@') != std::string_view::npos ||
        host.find(':') != std::string_view::npos)
      return Unusable(text);
    return std::string(host) + ":" + std::to_string(kDefaultClusterPort);
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || !IsPort(text.substr(colon + 1)))
    return Unusable(text);
  std::string_view host = text.substr(0, colon);
  bool bracketed = host.front() == '[' && host.back() == ']' && host.size() > 2;
  if (!bracketed && host.find(':') != std::string_view::npos) return Unusable(text);
  return std::string(text);
}

MembersResult AskLeader(const Secret& secret, const std::string& self,
                        std::vector<std::string> addresses, const MembersChange& change) {
  constexpr int kMaxCalls = 8;
  std::string unreached;
  int calls = 0;
  std::vector<std::string> tried;
  while (!addresses.empty() && calls < kMaxCalls) {
    std::string address = addresses.front();
    addresses.erase(addresses.begin());
    if (std::find(tried.begin(), tried.end(), address) != tried.end()) continue;
    tried.push_back(address);
    ++calls;
    PeerClient client(address, secret, self);
    MembersResult result;
    grpc::Status s = client.ChangeMembers(change, result);
    if (!s.ok()) {
      if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
        result.status = Error{403, s.error_message()};
        return result;
      }
      unreached += (unreached.empty() ? "" : "; ") + address + ": " + s.error_message();
      continue;
    }
    if (result.status.ok() || result.leader.empty() || result.leader.size() > kMaxGrpcAddress)
      return result;
    addresses.insert(addresses.begin(), result.leader);  // the leader next
    unreached += (unreached.empty() ? "" : "; ") + address + ": " + result.status.error().text;
  }
  MembersResult none;
  none.status = Error{503, "no leader of the cluster could be reached (" +
                               (unreached.empty() ? std::string("no address") : unreached) + ")"};
  return none;
}

}  // namespace warren::cluster
