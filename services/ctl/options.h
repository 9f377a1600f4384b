// warrenctl's global settings and where they come from: built-in defaults,
// then the TOML file (--config or WARREN_CTL_CONFIG), then WARREN_NODE,
// WARREN_USERNAME, WARREN_PASSWORD, WARREN_TLS_CA_FILE, WARREN_TLS_CERT_FILE,
// WARREN_TLS_KEY_FILE, then command-line flags.
#pragma once

#include <string>

#include "common/tls.h"

namespace warren::ctl {

struct Options {
  std::string node = "127.0.0.1:25672";  // HOST:PORT of the node's gRPC listener
  std::string username = "guest";
  std::string password = "guest";
  bool quiet = false;           // no "Listing ..." info lines
  bool silent = false;          // --silent: quiet, no table headers, health checks print nothing
  bool json = false;            // --formatter json
  bool table_headers = true;    // off with --no-table-headers
  double timeout_seconds = 30;  // the deadline of each call
  bool timeout_given = false;   // -t on the command line (await_startup's own default otherwise)
  // A node whose gRPC port speaks TLS (docs/tls.md): the CA that signed its
  // certificate, and this client's certificate when the node asks for one.
  tls::Settings tls;
};

// What the command line said; an empty string or a negative timeout is
// "not given", so the file and the environment decide.
struct Flags {
  std::string config;
  std::string node;
  std::string username;
  std::string password;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string formatter;
  double timeout_seconds = -1;
  bool quiet = false;
  bool silent = false;
  bool no_table_headers = false;
};

// Merges defaults, file, environment and flags. Throws CtlError
// (kExitConfig) naming the file and key when the file is unreadable, has an
// unknown key or a value of the wrong type; kExitUsage for a bad --timeout.
Options ResolveOptions(const Flags& flags);

}  // namespace warren::ctl
