// The HTTP side of warren-mgmt: cpp-httplib's server (its own pool of worker
// threads), /api/... dispatched by the Router, anything else a static file of
// the web UI's folder ("/" is index.html; httplib refuses paths that climb out
// of the folder and names the Content-Type by extension). Without the folder,
// non-API paths are a plain 404.
//
// Lifecycle: Bind() then Run() on the main thread until Stop() (from the
// signal thread); the Router and NodeClient outlive it.
#pragma once

#include <cstdint>
#include <string>

#include <httplib.h>

#include "mgmt/node_client.h"
#include "mgmt/options.h"
#include "mgmt/router.h"

namespace warren::mgmt {

class Server {
 public:
  Server(const Options& options, const Router& router, NodeClient& nodes);
  // Binds --http-listen (port 0: any free port) and returns the bound port;
  // throws ConfigError when it cannot.
  uint16_t Bind();
  void Run();
  void Stop() { http_.stop(); }

 private:
  void Serve(const httplib::Request& request, httplib::Response& response) const;

  const Options& options_;
  const Router& router_;
  NodeClient& nodes_;
  httplib::Server http_;
};

}  // namespace warren::mgmt
