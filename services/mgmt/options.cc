#include "mgmt/options.h"

#include <chrono>
#include <cstdlib>

#include <toml++/toml.h>

#include "common/config.h"
#include "common/tls_toml.h"

#ifndef WARREN_UI_DIR
#define WARREN_UI_DIR "ui"
#endif

namespace warren::mgmt {
namespace {

std::vector<std::string> SplitNodes(const std::string& text, const std::string& what) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
    if (!item.empty()) {
      if (item.find(':') == std::string::npos) item += ":25672";
      ParseEndpoint(item, what);
      out.push_back(item);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.empty()) throw ConfigError(what + ": give at least one HOST:PORT");
  return out;
}

std::string String(const toml::node& value, const std::string& where) {
  if (!value.is_string()) throw ConfigError(where + " must be a string");
  return value.as_string()->get();
}

double Seconds(const toml::node& value, const std::string& where) {
  double seconds = value.value<double>().value_or(0);
  if (!(seconds > 0 && seconds <= 86400))
    throw ConfigError(where + " must be a number of seconds above 0 (at most 86400)");
  return seconds;
}

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

uint64_t BodySize(int64_t bytes, const std::string& where) {
  if (bytes <= 0) throw ConfigError(where + " must be a positive number of bytes");
  return static_cast<uint64_t>(bytes);
}

// A listener's address; nullopt for "none" (or "").
std::optional<Endpoint> Listener(const std::string& text, const std::string& what) {
  if (ListenerOff(text)) return std::nullopt;
  return ParseEndpoint(text, what);
}

// One key of the file; `where` names it in errors.
void ApplyKey(const std::string& key, const toml::node& value, const std::string& where,
              const std::string& path, Options& out) {
  if (key == "http_listen") {
    out.http_listen = Listener(String(value, where), where);
  } else if (key == "https_listen") {
    out.https_listen = Listener(String(value, where), where);
  } else if (key == "tls") {
    const toml::table* table = value.as_table();
    if (!table) throw ConfigError(where + " must be a table ([tls])");
    tls::LoadTable(*table, "config file " + path, out.tls);
  } else if (key == "nodes") {
    // A list of "HOST:PORT", or one string "HOST:PORT,HOST:PORT".
    std::string joined;
    if (const toml::array* list = value.as_array()) {
      for (const auto& item : *list) joined += String(item, where) + ",";
    } else {
      joined = String(value, where);
    }
    out.nodes = SplitNodes(joined, where);
  } else if (key == "ui_dir") {
    out.ui_dir = String(value, where);
  } else if (key == "log_level") {
    out.log_level = String(value, where);
  } else if (key == "timeout") {
    out.timeout_seconds = Seconds(value, where);
  } else if (key == "max_body_size") {
    out.http.body_limit = BodySize(value.value<int64_t>().value_or(0), where);
  } else if (key == "head_timeout") {
    out.http.head_timeout = Millis(Seconds(value, where));
  } else if (key == "body_timeout") {
    out.http.body_timeout = Millis(Seconds(value, where));
  } else if (key == "idle_timeout") {
    out.http.idle_timeout = Millis(Seconds(value, where));
  } else if (key == "allowed_origins") {
    const toml::array* list = value.as_array();
    if (!list) throw ConfigError(where + " must be a list of origins (\"https://host:port\")");
    out.allowed_origins.clear();
    for (const auto& item : *list) out.allowed_origins.push_back(String(item, where));
  } else if (key == "collect_statistics_interval") {
    std::optional<int64_t> ms = value.value<int64_t>();
    if (!value.is_integer() || !ms || *ms < 100 || *ms > 3'600'000)
      throw ConfigError(where + " must be a number of milliseconds from 100 to 3600000");
    out.collect_statistics_interval = std::chrono::milliseconds(*ms);
  } else {
    throw ConfigError(where + " is not a known key (known: http_listen, https_listen, tls, "
                      "nodes, ui_dir, log_level, timeout, max_body_size, head_timeout, "
                      "body_timeout, idle_timeout, allowed_origins, "
                      "collect_statistics_interval)");
  }
}

void ApplyFile(const std::string& path, Options& out) {
  toml::table file;
  try {
    file = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw ConfigError("config file " + path + ": " + std::string(e.description()));
  }
  for (const auto& [key, value] : file) {
    std::string name(key.str());
    ApplyKey(name, value, "config file " + path + ": \"" + name + "\"", path, out);
  }
}

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

}  // namespace

Endpoint ParseEndpoint(const std::string& text, const std::string& what) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw ConfigError(what + ": \"" + text + "\" is not HOST:PORT");
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535)
    throw ConfigError(what + ": \"" + port + "\" is not a port (0-65535)");
  return {host, static_cast<uint16_t>(std::stoul(port))};
}

Options ResolveOptions(const Flags& flags) {
  Options out;
  out.ui_dir = WARREN_UI_DIR;
  std::string config = flags.config.value_or("");
  if (!flags.config && Env("WARREN_CONFIG")) config = Env("WARREN_CONFIG");
  if (!config.empty()) ApplyFile(config, out);
  if (const char* v = Env("WARREN_HTTP_LISTEN"))
    out.http_listen = Listener(v, "WARREN_HTTP_LISTEN");
  if (const char* v = Env("WARREN_HTTPS_LISTEN"))
    out.https_listen = Listener(v, "WARREN_HTTPS_LISTEN");
  tls::ApplyEnvironment(out.tls);
  if (const char* v = Env("WARREN_NODES")) out.nodes = SplitNodes(v, "WARREN_NODES");
  if (const char* v = Env("WARREN_UI_DIR")) out.ui_dir = v;
  if (const char* v = Env("WARREN_LOG_LEVEL")) out.log_level = v;
  if (const char* v = Env("WARREN_MAX_BODY_SIZE")) {
    std::string text = v;
    if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != text.npos)
      throw ConfigError("WARREN_MAX_BODY_SIZE: \"" + text + "\" is not a number of bytes");
    out.http.body_limit = BodySize(std::stoll(text), "WARREN_MAX_BODY_SIZE");
  }
  if (flags.http_listen) out.http_listen = Listener(*flags.http_listen, "--http-listen");
  if (flags.https_listen) out.https_listen = Listener(*flags.https_listen, "--https-listen");
  if (flags.tls_cert) out.tls.cert_file = *flags.tls_cert;
  if (flags.tls_key) out.tls.key_file = *flags.tls_key;
  if (flags.tls_ca) out.tls.ca_file = *flags.tls_ca;
  if (flags.nodes) out.nodes = SplitNodes(*flags.nodes, "--nodes");
  if (flags.ui_dir) out.ui_dir = *flags.ui_dir;
  if (flags.log_level) out.log_level = *flags.log_level;
  http::CheckListeners(out.http_listen.has_value(), out.https_listen.has_value(), out.tls);
  return out;
}

}  // namespace warren::mgmt
