// The [tls] table of a TOML configuration file, the same in warren-node,
// warren-mgmt and warren-exporter (docs/tls.md). Only the files that parse
// TOML include this (toml++ is a heavy header).
#pragma once

#include <string>

#include <toml++/toml.h>

#include "common/tls.h"

namespace warren::tls {

// Keys: cert_file, key_file, ca_file, verify ("none" | "peer"),
// fail_if_no_peer_cert (bool), handshake_timeout (milliseconds). Throws
// ConfigError "<origin>: tls.<key>: <why>" for an unknown key or a bad value.
void LoadTable(const toml::table& table, const std::string& origin, Settings& settings);

}  // namespace warren::tls
