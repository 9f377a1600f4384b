// The node's configuration: built-in defaults, then a TOML file, then
// WARREN_* environment variables, then command-line flags (docs/architecture.md,
// "Configuration"). Loading throws ConfigError with one line naming
// the bad key; main() prints it and exits non-zero.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/tls.h"

namespace warren {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct UserConfig {
  std::string name;
  std::string password;       // plain, hashed at start-up, never stored
  std::string password_hash;  // RabbitMQ's rabbit_password_hashing_sha256 format
  std::vector<std::string> tags;
};

struct PermissionConfig {
  std::string user;
  std::string vhost = "/";
  std::string configure = ".*";
  std::string write = ".*";
  std::string read = ".*";
};

struct NodeConfig {
  std::string node_name;  // default: warren@<hostname>
  // "" or "none": no plaintext listener (AMQPS only, as RabbitMQ's
  // listeners.tcp = none).
  std::string amqp_listen = "0.0.0.0:5672";
  // AMQP over TLS (RabbitMQ's listeners.ssl, usually port 5671); "" or
  // "none": off. Needs [tls] cert_file and key_file (docs/tls.md).
  std::string amqps_listen;
  std::string grpc_listen = "0.0.0.0:25672";
  std::string data_dir;  // default: /var/lib/warren, or ./warren-data when not writable
  std::string log_level = "info";

  // [amqp]: what connection.tune proposes, and limits.
  uint16_t channel_max = 2047;
  uint32_t frame_max = 131072;
  uint16_t heartbeat = 60;
  uint64_t max_message_size = 128ull * 1024 * 1024;

  // Access: the default user and vhost exist unless turned off.
  std::string default_vhost = "/";
  std::string default_user = "guest";
  std::string default_pass = "guest";
  std::vector<std::string> loopback_users = {"guest"};
  std::vector<std::string> vhosts;
  std::vector<UserConfig> users;
  std::vector<PermissionConfig> permissions;
  // RabbitMQ's load_definitions: a definitions file (the management API's
  // format) imported at every start, after the users above; in a cluster
  // through its log (docs/architecture.md, "Configuration"). Empty: none.
  std::string load_definitions;

  // [store]: fsync "always" (confirms wait for a group-committed fsync) or
  // "never" (after write(2): survives a crash of the node, not of the machine).
  bool fsync = true;
  uint64_t segment_size = 16ull << 20;

  // [alarms], as RabbitMQ's vm_memory_high_watermark(.absolute),
  // vm_memory_high_watermark_paging_ratio and disk_free_limit.
  double memory_high_watermark = 0.4;  // share of the machine's RAM
  uint64_t memory_limit = 0;           // bytes; wins over the share when set
  double paging_ratio = 0.5;           // above 1: never page
  uint64_t disk_free_limit = 50'000'000;

  // [cluster]: the file holding the secret every node of the cluster shares
  // (docs/cluster.md); default <data_dir>/cluster-secret, made when absent.
  std::string cluster_secret_file;
  // [cluster] seeds: the gRPC addresses (HOST:PORT) of every node of a
  // cluster formed at start (docs/cluster.md, "Forming a cluster"), this
  // node's included; empty: the node stands alone.
  std::vector<std::string> cluster_seeds;

  // [tls]: the AMQPS listener's and the gRPC port's certificate, and the CA
  // that peers' certificates (clients', other nodes') are checked against.
  tls::Settings tls;
};

// An address key's value meaning "no listener".
inline bool ListenerOff(const std::string& value) { return value.empty() || value == "none"; }

// "256MiB", "50MB", "1048576" in bytes; nullopt when not a size.
std::optional<uint64_t> ParseSize(const std::string& text);

// Parses a TOML file into `config` (fields not in the file keep their value).
void LoadConfigFile(const std::string& path, NodeConfig& config);
// Parses TOML text (for tests); `origin` names the source in errors.
void LoadConfigText(const std::string& text, const std::string& origin, NodeConfig& config);
// Applies WARREN_NODE_NAME, WARREN_AMQP_LISTEN, WARREN_GRPC_LISTEN,
// WARREN_DATA_DIR, WARREN_LOG_LEVEL, WARREN_CLUSTER_SECRET_FILE,
// WARREN_CLUSTER_SEEDS, WARREN_DEFAULT_USER, WARREN_DEFAULT_PASS,
// WARREN_AMQPS_LISTEN and WARREN_TLS_* (tls::ApplyEnvironment) when set.
void ApplyEnvironment(NodeConfig& config);

struct HostPort {
  std::string host;
  uint16_t port = 0;
};
// "host:port" or "[v6]:port"; throws ConfigError naming `what`.
HostPort ParseHostPort(const std::string& value, const std::string& what);
// The listener addresses and [tls] make sense together: each address parses,
// one AMQP listener at least, AMQPS has a certificate (tls::Validate too).
// Throws ConfigError.
void CheckListeners(const NodeConfig& config);

// "a:1, b:2" -> {"a:1", "b:2"} (--cluster-seeds, WARREN_CLUSTER_SEEDS).
std::vector<std::string> SplitSeeds(std::string_view list);

}  // namespace warren
