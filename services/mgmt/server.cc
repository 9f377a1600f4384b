#include "mgmt/server.h"

#include <filesystem>

#include "common/config.h"
#include "common/log.h"

namespace warren::mgmt {

Server::Server(const Options& options, const Router& router, NodeClient& nodes)
    : options_(options), router_(router), nodes_(nodes) {
  if (std::filesystem::is_directory(options.ui_dir)) {
    http_.set_mount_point("/", options.ui_dir);
  } else {
    spdlog::warn("no web UI: {} is not a directory (only /api is served)", options.ui_dir);
  }
  auto serve = [this](const httplib::Request& req, httplib::Response& res) { Serve(req, res); };
  const std::string api = "/api(/.*)?";
  http_.Get(api, serve);
  http_.Put(api, serve);
  http_.Post(api, serve);
  http_.Delete(api, serve);
  http_.Patch(api, serve);
  // Errors without a body of their own (an unknown file) are plain text.
  httplib::Server::HandlerWithResponse plain = [](const httplib::Request&,
                                                  httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    res.set_content(res.status == 404 ? "Not Found\n" : "Error\n", "text/plain");
    return httplib::Server::HandlerResponse::Handled;
  };
  http_.set_error_handler(plain);
}

uint16_t Server::Bind() {
  const Endpoint& at = options_.http_listen;
  int port = at.port == 0 ? http_.bind_to_any_port(at.host)
                          : (http_.bind_to_port(at.host, at.port) ? at.port : -1);
  if (port <= 0)
    throw ConfigError("http_listen: cannot listen on " + at.host + ":" + std::to_string(at.port));
  spdlog::info("http listening on {}:{}", at.host, port);
  return static_cast<uint16_t>(port);
}

void Server::Run() { http_.listen_after_bind(); }

void Server::Serve(const httplib::Request& request, httplib::Response& response) const {
  Reply reply = router_.Dispatch(request, nodes_);
  response.status = reply.status;
  for (const auto& [name, value] : reply.headers) response.set_header(name, value);
  response.set_header("Cache-Control", "no-cache");
  if (!reply.body.empty()) response.set_content(reply.body, reply.content_type);
  spdlog::debug("{} {} -> {}", request.method, request.target, reply.status);
}

}  // namespace warren::mgmt
