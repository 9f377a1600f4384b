// The HTTP side of warren-mgmt, on the shared server of services/http: /api/...
// dispatched by the Router, anything else a static file of the web UI's
// folder (StaticFiles).
//
// What a request goes through before its body is read (Admit), in the order
// RabbitMQ's management plugin checks: an unknown path 404, a method the
// path does not take 405; then a foreign Origin 403 (a browser page of
// another site must not drive the API with the user's credentials); then
// the Basic credentials, checked with the node (401 at once, so no body is
// read for a stranger); then a write's Content-Type, which must be JSON
// (415: a form of another site cannot post JSON without the browser asking
// first); then the body's size (413, by the server).
//
// Lifecycle: Listen() then Run() on the main thread until Stop() (from the
// signal thread, as ReloadTls()); the Router and NodeClient outlive it. The
// Handler methods run on the server's worker threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "http/server.h"
#include "mgmt/node_client.h"
#include "mgmt/options.h"
#include "mgmt/router.h"
#include "mgmt/static_files.h"

namespace warren::mgmt {

class Server : private http::Handler {
 public:
  Server(const Options& options, const Router& router, NodeClient& nodes);
  // Binds --http-listen and --https-listen (port 0: any free port), each
  // when set; throws ConfigError when it cannot (or the certificate cannot
  // be used). Returns what it bound.
  std::vector<http::Bound> Listen();
  void Run() { http_.Run(); }
  void Stop() { http_.Stop(); }
  // SIGHUP: HTTPS's certificate read again (http::Server::ReloadTls).
  void ReloadTls() { http_.ReloadTls(); }

 private:
  std::optional<http::Response> Admit(const http::Request& head) override;
  http::Response Serve(const http::Request& request) override;
  http::Response Refuse(int status, const std::string& reason) override;

  std::optional<Reply> Authenticate(const http::Request& head);

  const Options& options_;
  const Router& router_;
  NodeClient& nodes_;
  StaticFiles files_;
  http::Server http_;
};

// The checks of Admit that need no node, exposed for their own sake.
// A foreign Origin: present, and neither this server's own (the Host
// header) nor one of `allowed` (compared without case).
bool ForeignOrigin(const http::Request& head, const std::vector<std::string>& allowed);
// A body of a write that is not declared JSON ("application/json", any
// parameters); a write with no body and no Content-Type passes (what curl
// sends for `curl -X PUT .../api/vhosts/x`).
bool NeedsJsonType(const http::Request& head);

}  // namespace warren::mgmt
