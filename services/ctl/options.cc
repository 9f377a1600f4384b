#include "ctl/options.h"

#include <cstdlib>

#include <toml++/toml.h>

#include "ctl/error.h"

namespace warren::ctl {
namespace {

void ApplyFile(const std::string& path, Options& out) {
  toml::table file;
  try {
    file = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw CtlError(kExitConfig, "config file " + path + ": " + std::string(e.description()));
  }
  for (const auto& [key, value] : file) {
    std::string* target = nullptr;
    if (key == "node") target = &out.node;
    else if (key == "username") target = &out.username;
    else if (key == "password") target = &out.password;
    else if (key == "tls_ca_file") target = &out.tls.ca_file;
    else if (key == "tls_cert_file") target = &out.tls.cert_file;
    else if (key == "tls_key_file") target = &out.tls.key_file;
    if (target == nullptr) {
      throw CtlError(kExitConfig, "config file " + path + ": unknown key \"" +
                                      std::string(key.str()) +
                                      "\" (known: node, username, password, tls_ca_file, "
                                      "tls_cert_file, tls_key_file)");
    }
    const auto* text = value.as_string();
    if (text == nullptr) {
      throw CtlError(kExitConfig,
                     "config file " + path + ": \"" + std::string(key.str()) + "\" must be a string");
    }
    *target = text->get();
  }
}

void ApplyEnv(const char* name, std::string& target) {
  if (const char* value = std::getenv(name); value != nullptr && *value != '\0') target = value;
}

void ApplyFlag(const std::string& flag, std::string& target) {
  if (!flag.empty()) target = flag;
}

}  // namespace

Options ResolveOptions(const Flags& flags) {
  Options out;
  std::string config = flags.config;
  if (config.empty()) ApplyEnv("WARREN_CTL_CONFIG", config);
  if (!config.empty()) ApplyFile(config, out);
  ApplyEnv("WARREN_NODE", out.node);
  ApplyEnv("WARREN_USERNAME", out.username);
  ApplyEnv("WARREN_PASSWORD", out.password);
  ApplyEnv("WARREN_TLS_CA_FILE", out.tls.ca_file);
  ApplyEnv("WARREN_TLS_CERT_FILE", out.tls.cert_file);
  ApplyEnv("WARREN_TLS_KEY_FILE", out.tls.key_file);
  ApplyFlag(flags.node, out.node);
  ApplyFlag(flags.username, out.username);
  ApplyFlag(flags.password, out.password);
  ApplyFlag(flags.tls_ca, out.tls.ca_file);
  ApplyFlag(flags.tls_cert, out.tls.cert_file);
  ApplyFlag(flags.tls_key, out.tls.key_file);
  if (out.node.find(':') == std::string::npos) out.node += ":25672";
  out.quiet = flags.quiet || flags.silent;
  out.silent = flags.silent;
  out.json = flags.formatter == "json";
  out.table_headers = !flags.no_table_headers && !flags.silent;
  if (flags.timeout_seconds == 0) throw CtlError(kExitUsage, "--timeout must be positive");
  if (flags.timeout_seconds > 0) {
    out.timeout_seconds = flags.timeout_seconds;
    out.timeout_given = true;
  }
  return out;
}

}  // namespace warren::ctl
