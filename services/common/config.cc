#include "common/config.h"

#include <cstdlib>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "common/tls_toml.h"

namespace warren {

namespace {

[[noreturn]] void Fail(const std::string& origin, const std::string& key, const std::string& why) {
  throw ConfigError(origin + ": " + key + ": " + why);
}

// Rejects keys of `table` not in `known`, naming the first unknown one.
void CheckKeys(const toml::table& table, const std::set<std::string>& known,
               const std::string& origin, const std::string& prefix) {
  for (const auto& [k, v] : table) {
    std::string key(k.str());
    if (!known.count(key)) Fail(origin, prefix + key, "unknown key");
  }
}

std::string Str(const toml::node& n, const std::string& origin, const std::string& key) {
  if (auto s = n.value<std::string>()) return *s;
  Fail(origin, key, "expected a string");
}

int64_t Int(const toml::node& n, const std::string& origin, const std::string& key, int64_t lo,
            int64_t hi) {
  auto v = n.value<int64_t>();
  if (!v) Fail(origin, key, "expected an integer");
  if (*v < lo || *v > hi)
    Fail(origin, key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return *v;
}

std::vector<std::string> StrList(const toml::node& n, const std::string& origin,
                                 const std::string& key) {
  const toml::array* a = n.as_array();
  if (!a) Fail(origin, key, "expected an array of strings");
  std::vector<std::string> out;
  for (const auto& item : *a) out.push_back(Str(item, origin, key));
  return out;
}

// A size in bytes: an integer, or a string with a unit ("256MiB", "50MB").
uint64_t Size(const toml::node& n, const std::string& origin, const std::string& key) {
  if (auto v = n.value<int64_t>()) {
    if (*v < 0) Fail(origin, key, "must not be negative");
    return static_cast<uint64_t>(*v);
  }
  auto text = n.value<std::string>();
  if (!text) Fail(origin, key, "expected a size such as 1048576 or \"256MiB\"");
  auto parsed = ParseSize(*text);
  if (!parsed) Fail(origin, key, "'" + *text + "' is not a size (units: B, kB, KiB, MB, MiB, GB, GiB)");
  return *parsed;
}

double Ratio(const toml::node& n, const std::string& origin, const std::string& key, double lo,
             double hi) {
  auto v = n.value<double>();
  if (!v) Fail(origin, key, "expected a number");
  if (*v < lo || *v > hi)
    Fail(origin, key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return *v;
}

void LoadStore(const toml::table& t, const std::string& origin, NodeConfig& c) {
  CheckKeys(t, {"fsync", "segment_size"}, origin, "store.");
  if (auto n = t.get("fsync")) {
    std::string v = Str(*n, origin, "store.fsync");
    if (v != "always" && v != "never") Fail(origin, "store.fsync", "must be \"always\" or \"never\"");
    c.fsync = v == "always";
  }
  if (auto n = t.get("segment_size")) {
    c.segment_size = Size(*n, origin, "store.segment_size");
    if (c.segment_size < 65536 || c.segment_size > (1ull << 32) - 1)
      Fail(origin, "store.segment_size", "must be between 64KiB and 4GiB");
  }
}

void LoadAlarms(const toml::table& t, const std::string& origin, NodeConfig& c) {
  CheckKeys(t, {"memory_high_watermark", "memory_limit", "paging_ratio", "disk_free_limit"}, origin,
            "alarms.");
  if (auto n = t.get("memory_high_watermark"))
    c.memory_high_watermark = Ratio(*n, origin, "alarms.memory_high_watermark", 0.0, 1.0);
  if (auto n = t.get("memory_limit")) c.memory_limit = Size(*n, origin, "alarms.memory_limit");
  if (auto n = t.get("paging_ratio"))
    c.paging_ratio = Ratio(*n, origin, "alarms.paging_ratio", 0.0, 1000.0);
  if (auto n = t.get("disk_free_limit"))
    c.disk_free_limit = Size(*n, origin, "alarms.disk_free_limit");
}

const toml::array& TableArray(const toml::node& n, const std::string& origin,
                              const std::string& key) {
  const toml::array* a = n.as_array();
  if (!a || (!a->empty() && !a->is_array_of_tables()))
    Fail(origin, key, "expected [[" + key + "]] tables");
  return *a;
}

void LoadAmqp(const toml::table& t, const std::string& origin, NodeConfig& c) {
  CheckKeys(t, {"channel_max", "frame_max", "heartbeat", "max_message_size"}, origin, "amqp.");
  if (auto n = t.get("channel_max")) c.channel_max = Int(*n, origin, "amqp.channel_max", 1, 65535);
  if (auto n = t.get("frame_max"))
    c.frame_max = Int(*n, origin, "amqp.frame_max", 4096, 16 * 1024 * 1024);
  if (auto n = t.get("heartbeat")) c.heartbeat = Int(*n, origin, "amqp.heartbeat", 0, 65535);
  if (auto n = t.get("max_message_size"))
    c.max_message_size = Int(*n, origin, "amqp.max_message_size", 1, 512ll * 1024 * 1024);
}

void LoadCluster(const toml::table& t, const std::string& origin, NodeConfig& c) {
  CheckKeys(t, {"secret_file", "seeds"}, origin, "cluster.");
  if (auto n = t.get("secret_file")) c.cluster_secret_file = Str(*n, origin, "cluster.secret_file");
  if (auto n = t.get("seeds")) {
    const toml::array* a = n->as_array();
    if (!a) Fail(origin, "cluster.seeds", "expected a list of \"HOST:PORT\" strings");
    c.cluster_seeds.clear();
    for (const auto& s : *a) c.cluster_seeds.push_back(Str(s, origin, "cluster.seeds"));
  }
}

void LoadUsers(const toml::array& a, const std::string& origin, NodeConfig& c) {
  for (const auto& item : a) {
    const toml::table& t = *item.as_table();
    CheckKeys(t, {"name", "password", "password_hash", "tags"}, origin, "users.");
    UserConfig u;
    if (auto n = t.get("name")) u.name = Str(*n, origin, "users.name");
    if (u.name.empty()) Fail(origin, "users.name", "missing");
    if (auto n = t.get("password")) u.password = Str(*n, origin, "users.password");
    if (auto n = t.get("password_hash")) u.password_hash = Str(*n, origin, "users.password_hash");
    if (u.password.empty() == u.password_hash.empty())
      Fail(origin, "users." + u.name, "needs exactly one of password, password_hash");
    if (auto n = t.get("tags")) u.tags = StrList(*n, origin, "users.tags");
    c.users.push_back(std::move(u));
  }
}

void LoadPermissions(const toml::array& a, const std::string& origin, NodeConfig& c) {
  for (const auto& item : a) {
    const toml::table& t = *item.as_table();
    CheckKeys(t, {"user", "vhost", "configure", "write", "read"}, origin, "permissions.");
    PermissionConfig p;
    if (auto n = t.get("user")) p.user = Str(*n, origin, "permissions.user");
    if (p.user.empty()) Fail(origin, "permissions.user", "missing");
    if (auto n = t.get("vhost")) p.vhost = Str(*n, origin, "permissions.vhost");
    if (auto n = t.get("configure")) p.configure = Str(*n, origin, "permissions.configure");
    if (auto n = t.get("write")) p.write = Str(*n, origin, "permissions.write");
    if (auto n = t.get("read")) p.read = Str(*n, origin, "permissions.read");
    c.permissions.push_back(std::move(p));
  }
}

void Load(const toml::table& root, const std::string& origin, NodeConfig& c) {
  CheckKeys(root,
            {"node_name", "amqp_listen", "grpc_listen", "data_dir", "log_level", "amqp",
             "default_vhost", "default_user", "default_pass", "loopback_users", "vhosts", "users",
             "permissions", "load_definitions", "store", "alarms", "cluster", "amqps_listen", "tls"},
            origin, "");
  auto str = [&](const char* key, std::string& field) {
    if (auto n = root.get(key)) field = Str(*n, origin, key);
  };
  str("node_name", c.node_name);
  str("amqp_listen", c.amqp_listen);
  str("amqps_listen", c.amqps_listen);
  str("grpc_listen", c.grpc_listen);
  str("data_dir", c.data_dir);
  str("log_level", c.log_level);
  str("load_definitions", c.load_definitions);
  str("default_vhost", c.default_vhost);
  str("default_user", c.default_user);
  str("default_pass", c.default_pass);
  if (auto n = root.get("loopback_users")) c.loopback_users = StrList(*n, origin, "loopback_users");
  if (auto n = root.get("amqp")) {
    if (!n->is_table()) Fail(origin, "amqp", "expected a table");
    LoadAmqp(*n->as_table(), origin, c);
  }
  if (auto n = root.get("tls")) {
    if (!n->is_table()) Fail(origin, "tls", "expected a table");
    tls::LoadTable(*n->as_table(), origin, c.tls);
  }
  for (auto [key, load] : {std::pair{"store", &LoadStore}, {"alarms", &LoadAlarms},
                           {"cluster", &LoadCluster}}) {
    if (auto n = root.get(key)) {
      if (!n->is_table()) Fail(origin, key, "expected a table");
      load(*n->as_table(), origin, c);
    }
  }
  if (auto n = root.get("vhosts")) {
    for (const auto& item : TableArray(*n, origin, "vhosts")) {
      const toml::table& t = *item.as_table();
      CheckKeys(t, {"name"}, origin, "vhosts.");
      auto name = t.get("name");
      if (!name) Fail(origin, "vhosts.name", "missing");
      c.vhosts.push_back(Str(*name, origin, "vhosts.name"));
    }
  }
  if (auto n = root.get("users")) LoadUsers(TableArray(*n, origin, "users"), origin, c);
  if (auto n = root.get("permissions"))
    LoadPermissions(TableArray(*n, origin, "permissions"), origin, c);
  if (c.log_level != "trace" && c.log_level != "debug" && c.log_level != "info" &&
      c.log_level != "warning" && c.log_level != "error")
    Fail(origin, "log_level", "must be one of trace, debug, info, warning, error");
}

}  // namespace

std::optional<uint64_t> ParseSize(const std::string& text) {
  size_t i = 0;
  uint64_t value = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (value > (UINT64_MAX - 9) / 10) return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(text[i++] - '0');
  }
  if (i == 0) return std::nullopt;
  while (i < text.size() && text[i] == ' ') ++i;
  static const std::pair<const char*, uint64_t> kUnits[] = {
      {"", 1},           {"B", 1},          {"kB", 1000},           {"KB", 1000},
      {"KiB", 1ull << 10}, {"MB", 1000000},  {"MiB", 1ull << 20},    {"GB", 1000000000},
      {"GiB", 1ull << 30}, {"TB", 1000000000000}, {"TiB", 1ull << 40}};
  std::string unit = text.substr(i);
  for (auto [name, factor] : kUnits)
    if (unit == name) {
      if (value > UINT64_MAX / factor) return std::nullopt;
      return value * factor;
    }
  return std::nullopt;
}

void LoadConfigText(const std::string& text, const std::string& origin, NodeConfig& config) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream line;
    line << origin << ":" << e.source().begin.line << ": " << e.description();
    throw ConfigError(line.str());
  }
  Load(root, origin, config);
}

void LoadConfigFile(const std::string& path, NodeConfig& config) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream line;
    line << path << ":" << e.source().begin.line << ": " << e.description();
    throw ConfigError(line.str());
  }
  Load(root, path, config);
}

void ApplyEnvironment(NodeConfig& config) {
  auto env = [](const char* name, std::string& field) {
    if (const char* v = std::getenv(name); v && *v) field = v;
  };
  env("WARREN_NODE_NAME", config.node_name);
  env("WARREN_AMQP_LISTEN", config.amqp_listen);
  env("WARREN_AMQPS_LISTEN", config.amqps_listen);
  env("WARREN_GRPC_LISTEN", config.grpc_listen);
  env("WARREN_DATA_DIR", config.data_dir);
  env("WARREN_LOG_LEVEL", config.log_level);
  env("WARREN_CLUSTER_SECRET_FILE", config.cluster_secret_file);
  // RABBITMQ_DEFAULT_USER and _PASS of RabbitMQ's image: the first user of a
  // node's first start (a container's only way to choose it).
  env("WARREN_DEFAULT_USER", config.default_user);
  env("WARREN_DEFAULT_PASS", config.default_pass);
  env("WARREN_LOAD_DEFINITIONS", config.load_definitions);
  if (const char* v = std::getenv("WARREN_CLUSTER_SEEDS"); v && *v)
    config.cluster_seeds = SplitSeeds(v);
  tls::ApplyEnvironment(config.tls);
}

void CheckListeners(const NodeConfig& c) {
  bool plain = !ListenerOff(c.amqp_listen), secure = !ListenerOff(c.amqps_listen);
  if (plain) ParseHostPort(c.amqp_listen, "amqp_listen");
  if (secure) ParseHostPort(c.amqps_listen, "amqps_listen");
  ParseHostPort(c.grpc_listen, "grpc_listen");
  if (!plain && !secure)
    throw ConfigError("amqp_listen and amqps_listen are both off: no client could connect");
  tls::Validate(c.tls);
  if (secure && !c.tls.serving())
    throw ConfigError("amqps_listen needs [tls] cert_file and key_file");
}

std::vector<std::string> SplitSeeds(std::string_view list) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= list.size()) {
    size_t comma = std::min(list.find(',', at), list.size());
    std::string_view item = list.substr(at, comma - at);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    at = comma + 1;
  }
  return out;
}

HostPort ParseHostPort(const std::string& value, const std::string& what) {
  HostPort hp;
  size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon + 1 == value.size())
    throw ConfigError(what + ": expected HOST:PORT, got '" + value + "'");
  hp.host = value.substr(0, colon);
  if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']')
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  if (hp.host.empty()) hp.host = "0.0.0.0";
  std::string port = value.substr(colon + 1);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (*end != '\0' || p < 0 || p > 65535)
    throw ConfigError(what + ": bad port '" + port + "'");
  hp.port = static_cast<uint16_t>(p);
  return hp;
}

}  // namespace warren
