// warren-balancer's configuration: the TOML shape of conf/balancer.toml,
// which says what the tutorial's haproxy.cfg says.
// Parsing throws ConfigError with one line naming the key and the problem;
// unknown keys are errors. Plain values, copied freely; no I/O but reading
// the file.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"  // ConfigError, HostPort
#include "common/tls.h"

namespace warren::balancer {

using Millis = std::chrono::milliseconds;

enum class Balance { kRoundRobin, kLeastConn, kSource };
// check = false | "tcp" | "amqp" | "amqps"
enum class CheckKind { kNone, kTcp, kAmqp, kAmqps };

// How an "amqps" check speaks TLS (haproxy's check-ssl with verify, ca-file,
// crt and check-sni/verifyhost): keys check_tls_* of a [[listen.server]].
struct CheckTls {
  // cert_file/key_file: presented to a node that asks for a client
  // certificate; ca_file: the CAs that sign the nodes' certificates (the
  // system's when empty); verify: peer (default) or none.
  tls::Settings files = [] {
    tls::Settings s;
    s.verify = tls::Verify::kPeer;
    return s;
  }();
  // Sent as SNI and, with verify = peer, the name the node's certificate
  // must carry (a DNS name or an IP address); empty: the address's host.
  std::string server_name;
};

struct ServerConfig {
  std::string name;
  HostPort address;
  CheckKind check = CheckKind::kTcp;
  CheckTls check_tls = {};  // check = "amqps" only
  Millis inter{2000};  // haproxy's defaults: inter 2s, rise 2, fall 3
  int rise = 2;
  int fall = 3;
  int weight = 1;  // 0: never chosen by roundrobin (haproxy: drained)
  bool backup = false;
};

struct ListenConfig {
  std::string name;
  HostPort bind;
  Balance balance = Balance::kRoundRobin;
  int maxconn = 0;  // 0: only [global] maxconn bounds it
  // Open sessions one client address may hold; a client over it is closed
  // at once (haproxy: `tcp-request connection reject if { src_conn_cur ge N }`).
  // 0: no per-address bound.
  int maxconn_per_source = 0;
  std::vector<ServerConfig> servers;
};

struct StatsConfig {
  std::optional<HostPort> bind;  // no [stats] table: no stats listener
  std::string uri = "/rabbitmq_stats";
  Millis refresh{5000};
};

// Every duration is at most this (haproxy's own bound, about 24.8 days).
inline constexpr Millis kMaxDuration{2147483647};
// A half-closed session's idle limit when timeout_*_fin is not set: this, or
// timeout_client/timeout_server when that is shorter.
inline constexpr Millis kDefaultFinTimeout{5000};

struct BalancerConfig {
  int maxconn = 4096;
  // [defaults], as haproxy's `timeout connect|client|server|client-fin|server-fin`.
  Millis timeout_connect{5000};
  Millis timeout_client{120000};  // the client side idle (no byte read or written) this long
  Millis timeout_server{120000};
  Millis timeout_client_fin = kDefaultFinTimeout;  // the same once one direction has ended
  Millis timeout_server_fin = kDefaultFinTimeout;
  int retries = 3;
  Millis hard_stop_after{10000};  // [global]: after SIGTERM, sessions get this long to finish
  std::vector<ListenConfig> listens;
  StatsConfig stats;
};

// With no file: one listener "amqp" on 0.0.0.0:5672 in front of a single
// node at 127.0.0.1:5673 (AMQP check), stats on 0.0.0.0:8100.
BalancerConfig DefaultConfig();

BalancerConfig LoadConfigFile(const std::string& path);
BalancerConfig LoadConfigText(const std::string& text, const std::string& origin);

// "500ms", "5s", "2m", "1h", "1d"; a bare integer is milliseconds (haproxy's
// rule). Nothing above kMaxDuration.
std::optional<Millis> ParseDuration(const std::string& text);

const char* BalanceName(Balance b);
const char* CheckName(CheckKind c);

}  // namespace warren::balancer
