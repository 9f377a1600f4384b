// Health checks and the node's settings as RabbitMQ 3.13's API shows them:
// /api/health/checks/{alarms, local-alarms, port-listener/{port},
// protocol-listener/{protocol}, virtual-hosts, node-is-quorum-critical,
// node-is-mirror-sync-critical, certificate-expiration/{within}/{unit}}, /api/healthchecks/node[/{node}],
// /api/feature-flags, /api/auth (the cluster's name and global parameters:
// routes_parameters.cc).
// A check that passes is 200 {"status":"ok", ...}; one that fails is 503
// {"status":"failed","reason":..., what failed}, what probes look for.
#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "mgmt/body.h"
#include "mgmt/format.h"
#include "mgmt/listing.h"
#include "mgmt/router.h"

namespace warren::mgmt {
namespace {

using nlohmann::json;
using Stub = v1::Admin::Stub;

Reply Failed(const std::string& reason, json details = json::object()) {
  details["status"] = "failed";
  details["reason"] = reason;
  return Json(details, 503);
}

// The node Warren's answers come from has no alarms of others: the
// cluster-wide check and the local one see the same alarms.
Reply Alarms(Call& call, const char* failure) {
  v1::StatusResponse s;
  if (auto e = call.Rpc(&Stub::Status, v1::Empty{}, s)) return *e;
  if (s.alarms().empty()) return Json({{"status", "ok"}});
  json alarms = json::array();
  for (const auto& a : s.alarms())
    alarms.push_back({{"node", s.node_name()}, {"resource", a}});
  return Failed(failure, {{"alarms", alarms}});
}

// Passes when one of the node's listeners has `wanted` as its `key` (port
// or protocol); else 503 with what each listener has (under "ports" or
// "protocols").
Reply HasListener(Call& call, const std::string& key, const json& wanted,
                  json (*field)(const v1::Listener&)) {
  v1::StatusResponse s;
  if (auto e = call.Rpc(&Stub::Status, v1::Empty{}, s)) return *e;
  json all = json::array();
  for (const auto& l : s.listeners()) {
    if (field(l) == wanted) return Json({{"status", "ok"}, {key, wanted}});
    all.push_back(field(l));
  }
  return Failed("No active listener", {{"missing", wanted}, {key + "s", all}});
}

Reply PortListener(Call& call) {
  const std::string& text = call.arg(0);
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos)
    return BadRequest("Invalid port");
  return HasListener(call, "port", std::stoul(text),
                     [](const v1::Listener& l) { return json(l.port()); });
}

// A protocol as the check names it: the client's spellings of AMQP 0-9-1
// are "amqp", of AMQPS "amqp/ssl" (what the node's listeners say).
std::string ListenerProtocol(std::string p) {
  std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* amqp : {"amqp091", "amqp0.9.1", "amqp0-9-1", "amqp0_9_1", "amqp10", "amqp1.0",
                           "amqp1-0", "amqp1_0"})
    if (p == amqp) return "amqp";
  if (p == "amqps") return "amqp/ssl";
  return p;
}

Reply ProtocolListener(Call& call) {
  return HasListener(call, "protocol", ListenerProtocol(call.arg(0)),
                     [](const v1::Listener& l) { return json(l.protocol()); });
}

// A vhost of Warren's is up whenever its node answers.
Reply VirtualHosts(Call& call) {
  v1::ListVHostsResponse r;
  if (auto e = call.Rpc(&Stub::ListVHosts, v1::Empty{}, r)) return *e;
  return Json({{"status", "ok"}});
}

const v1::ClusterMember* Self(const v1::ClusterStatusResponse& c) {
  for (const auto& m : c.members())
    if (m.id() == c.self_id()) return &m;
  return nullptr;
}

// As warrenctl's check_if_node_is_quorum_critical: would stopping this node
// leave the cluster's metadata without a majority of running voters?
Reply QuorumCritical(Call& call) {
  v1::ClusterStatusResponse c;
  if (auto e = call.Rpc(&Stub::ClusterStatus, v1::Empty{}, c)) return *e;
  if (c.members_size() <= 1) return Json({{"status", "ok"}, {"reason", "single node cluster"}});
  int voters = 0, running = 0;
  for (const auto& m : c.members()) {
    if (!m.voter()) continue;
    ++voters;
    running += m.running() ? 1 : 0;
  }
  const v1::ClusterMember* self = Self(c);
  if (self && self->voter() && self->running() && running - 1 < voters / 2 + 1)
    return Failed("the cluster's metadata will become unavailable if node " +
                      c.node().node_name() + " stops",
                  {{"queues", json::array()}});
  return Json({{"status", "ok"}});
}

// Mirrored queues whose home is this node and that have no mirror in sync:
// stopping the node would leave them with no copy of their messages.
Reply MirrorSyncCritical(Call& call) {
  v1::ClusterStatusResponse c;
  if (auto e = call.Rpc(&Stub::ClusterStatus, v1::Empty{}, c)) return *e;
  if (c.members_size() <= 1) return Json({{"status", "ok"}, {"reason", "single node cluster"}});
  v1::ListRequest all;
  all.set_all_vhosts(true);
  v1::ListQueuesResponse r;
  if (auto e = call.Rpc(&Stub::ListQueues, all, r)) return *e;
  json queues = json::array();
  for (const auto& q : r.queues())
    if (q.node() == c.node().node_name() && q.mirror_nodes_size() > 0 &&
        q.synchronised_mirror_nodes_size() == 0)
      queues.push_back({{"name", q.name()}, {"virtual_host", q.vhost()}, {"type", "classic"}});
  if (queues.empty()) return Json({{"status", "ok"}});
  return Failed("There are classic mirrored queues without online synchronised mirrors",
                {{"queues", queues}});
}

// RFC 3339 UTC, as RabbitMQ writes a certificate's expiry.
std::string UtcTime(int64_t seconds) {
  time_t t = static_cast<time_t>(seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char out[32];
  strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

// The node's TLS listeners whose certificate expires within args[0]
// args[1] (days, weeks, months of 30 days, years of 365) from now.
Reply CertificateExpiration(Call& call) {
  static const std::map<std::string, int64_t> kUnits = {
      {"days", 86400}, {"weeks", 7 * 86400}, {"months", 30 * 86400}, {"years", 365 * 86400}};
  const std::string& within = call.arg(0);
  auto unit = kUnits.find(call.arg(1));
  if (within.empty() || within.size() > 6 ||
      !std::all_of(within.begin(), within.end(), [](unsigned char c) { return std::isdigit(c); }))
    return BadRequest("Invalid period: " + within + " is not a whole number");
  if (unit == kUnits.end())
    return BadRequest("Invalid unit: " + call.arg(1) + " is none of days, weeks, months, years");
  v1::StatusResponse s;
  if (auto e = call.Rpc(&Stub::Status, v1::Empty{}, s)) return *e;
  const int64_t deadline = static_cast<int64_t>(time(nullptr)) + std::stoll(within) * unit->second;
  json expiring = json::array();
  for (const auto& l : s.listeners()) {
    if (l.certificate_not_after() == 0 || l.certificate_not_after() > deadline) continue;
    expiring.push_back({{"node", s.node_name()}, {"protocol", l.protocol()},
                        {"interface", l.address()}, {"port", l.port()},
                        {"certfile", l.certificate_file()}, {"cacertfile", l.ca_file()},
                        {"certfile_expires_on", {UtcTime(l.certificate_not_after())}},
                        {"cacertfile_expires_on", json::array()}});
  }
  if (expiring.empty()) return Json({{"status", "ok"}});
  return Failed("Certificates expiring", {{"expired", expiring}});
}

// The node asked (or the member named args[0]) runs and, for the node
// asked, has no resource alarm.
Reply NodeHealth(Call& call) {
  v1::ClusterStatusResponse c;
  if (auto e = call.Rpc(&Stub::ClusterStatus, v1::Empty{}, c)) return *e;
  const std::string& self = c.node().node_name();
  const std::string name = call.args.empty() ? self : call.arg(0);
  const v1::ClusterMember* member = nullptr;
  for (const auto& m : c.members())
    if ((m.id() == c.self_id() ? self : m.node_name()) == name) member = &m;
  if (!member) return NotFound("node '" + name + "' not found");
  if (!member->running()) return Failed("node " + name + " is not running");
  if (member->id() == c.self_id() && c.node().alarms_size() > 0) {
    std::string alarms;
    for (const auto& a : c.node().alarms()) alarms += (alarms.empty() ? "" : ", ") + a;
    return Failed("resource alarm(s) in effect: " + alarms);
  }
  return Json({{"status", "ok"}});
}

}  // namespace

void AddHealthRoutes(Router& r) {
  r.Add("GET", "/api/health/checks/alarms",
        [](Call& c) { return Alarms(c, "There are alarms in effect in the cluster"); });
  r.Add("GET", "/api/health/checks/local-alarms",
        [](Call& c) { return Alarms(c, "There are alarms in effect on the node"); });
  r.Add("GET", "/api/health/checks/port-listener/{}", PortListener);
  r.Add("GET", "/api/health/checks/protocol-listener/{}", ProtocolListener);
  r.Add("GET", "/api/health/checks/virtual-hosts", VirtualHosts);
  r.Add("GET", "/api/health/checks/node-is-quorum-critical", QuorumCritical);
  r.Add("GET", "/api/health/checks/node-is-mirror-sync-critical", MirrorSyncCritical);
  r.Add("GET", "/api/health/checks/certificate-expiration/{}/{}", CertificateExpiration);
  r.Add("GET", "/api/healthchecks/node", NodeHealth);
  r.Add("GET", "/api/healthchecks/node/{}", NodeHealth);
  // Warren has no feature flags: what it does is always on.
  r.Add("GET", "/api/feature-flags", [](Call& c) { return ListReply(c, json::array()); });
  r.Add("PUT", "/api/feature-flags/{}/enable", [](Call& c) {
    return BadRequest("Warren has no feature flag '" + c.arg(0) + "'");
  });
  // Basic authentication only, no OAuth 2: what the login page asks first.
  r.AddPublic("GET", "/api/auth", [](Call&) { return Json({{"oauth_enabled", false}}); });
}

}  // namespace warren::mgmt
