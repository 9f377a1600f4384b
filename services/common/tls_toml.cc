#include "common/tls_toml.h"

#include "common/config.h"
#include "common/text.h"

namespace warren::tls {

void LoadTable(const toml::table& t, const std::string& origin, Settings& s) {
  auto fail = [&](const std::string& key, const std::string& why) {
    throw ConfigError(origin + ": tls." + key + ": " + why);
  };
  for (const auto& [k, v] : t) {
    std::string key(k.str());
    if (key == "cert_file" || key == "key_file" || key == "ca_file" || key == "verify") {
      auto text = v.value<std::string>();
      if (!text) fail(key, "expected a string");
      if (key == "cert_file") s.cert_file = *text;
      else if (key == "key_file") s.key_file = *text;
      else if (key == "ca_file") s.ca_file = *text;
      else s.verify = ParseVerify(*text, origin + ": tls.verify");
    } else if (key == "fail_if_no_peer_cert") {
      auto b = v.value<bool>();
      if (!b) fail(key, "expected true or false");
      s.fail_if_no_peer_cert = *b;
    } else if (key == "handshake_timeout") {
      auto ms = v.value<int64_t>();
      if (!ms || *ms < 1 || *ms > 600'000) fail(key, "expected milliseconds, 1 to 600000");
      s.handshake_timeout = std::chrono::milliseconds(*ms);
    } else {
      fail(LogSafe(key), "unknown key");
    }
  }
}

}  // namespace warren::tls
