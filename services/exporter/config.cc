#include "exporter/config.h"

#include <cstdlib>

#include <toml++/toml.h>

#include "common/config.h"
#include "common/tls_toml.h"

namespace warren::exporter {

namespace {

std::string WithPort(std::string node) {
  if (node.find(':') == std::string::npos) node += ":25672";
  return node;
}

int64_t DurationMs(const toml::node& v, const std::string& key) {
  if (auto n = v.value<int64_t>(); n && *n > 0 && *n <= 86'400) return *n * 1000;
  if (auto s = v.value<std::string>()) {
    size_t used = 0;
    try {
      double x = std::stod(*s, &used);
      std::string unit = s->substr(used);
      if (x > 0 && x <= 86'400'000 && unit == "ms") return static_cast<int64_t>(x);
      if (x > 0 && x <= 86'400 && (unit == "s" || unit.empty()))
        return static_cast<int64_t>(x * 1000);
    } catch (const std::exception&) {
    }
  }
  throw ConfigError(key + ": expected a duration such as \"2s\" or \"500ms\" (at most a day)");
}

}  // namespace

std::vector<std::string> ParseNodes(const std::string& list) {
  std::vector<std::string> out;
  for (size_t at = 0; at <= list.size();) {
    size_t comma = std::min(list.find(',', at), list.size());
    std::string item = list.substr(at, comma - at);
    if (!item.empty()) out.push_back(WithPort(item));
    at = comma + 1;
  }
  if (out.empty()) throw ConfigError("nodes: at least one HOST:PORT is needed");
  return out;
}

void LoadExporterConfig(const std::string& path, ExporterConfig& c) {
  toml::table file;
  try {
    file = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw ConfigError(path + ": " + std::string(e.description()));
  }
  for (const auto& [k, v] : file) {
    std::string key(k.str());
    auto text = [&, &node = v] {
      if (auto s = node.value<std::string>()) return *s;
      throw ConfigError(key + ": expected a string");
    };
    if (key == "http_listen") c.http_listen = text();
    else if (key == "https_listen") c.https_listen = text();
    else if (key == "tls") {
      const toml::table* table = v.as_table();
      if (!table) throw ConfigError(key + ": expected a table ([tls])");
      tls::LoadTable(*table, path, c.tls);
    }
    else if (key == "username") c.username = text();
    else if (key == "password") c.password = text();
    else if (key == "timeout") c.timeout_ms = DurationMs(v, key);
    else if (key == "head_timeout") c.head_timeout_ms = DurationMs(v, key);
    else if (key == "idle_timeout") c.idle_timeout_ms = DurationMs(v, key);
    else if (key == "per_object_metrics") {
      auto b = v.value<bool>();
      if (!b) throw ConfigError(key + ": expected true or false");
      c.per_object_metrics = *b;
    } else if (key == "nodes") {
      if (const toml::array* a = v.as_array()) {
        c.nodes.clear();
        for (const auto& n : *a) {
          auto s = n.value<std::string>();
          if (!s) throw ConfigError("nodes: expected a list of \"HOST:PORT\" strings");
          c.nodes.push_back(WithPort(*s));
        }
        if (c.nodes.empty()) throw ConfigError("nodes: at least one HOST:PORT is needed");
      } else {
        c.nodes = ParseNodes(text());
      }
    } else {
      throw ConfigError(key + ": unknown key (known: http_listen, https_listen, tls, nodes, "
                              "username, password, timeout, head_timeout, idle_timeout, "
                              "per_object_metrics)");
    }
  }
}

void ApplyExporterEnvironment(ExporterConfig& c) {
  auto env = [](const char* name) -> const char* {
    const char* v = std::getenv(name);
    return v && *v ? v : nullptr;
  };
  if (const char* v = env("WARREN_HTTP_LISTEN")) c.http_listen = v;
  if (const char* v = env("WARREN_HTTPS_LISTEN")) c.https_listen = v;
  tls::ApplyEnvironment(c.tls);
  if (const char* v = env("WARREN_NODES")) c.nodes = ParseNodes(v);
  if (const char* v = env("WARREN_USERNAME")) c.username = v;
  if (const char* v = env("WARREN_PASSWORD")) c.password = v;
}

}  // namespace warren::exporter
