// Router: the API's routes by method and path pattern, e.g.
// GET "/api/queues/{}/{}" (each {} one path segment). Segments are split
// from the raw request target and then percent-decoded one by one, so
// "%2F" names the vhost "/" instead of splitting the path. A handler gets a
// Call: its decoded arguments, the query, the body, and Rpc() to the
// nodes with the request's own credentials and client address. Built once
// at start, then read-only: Find and Dispatch are called from the HTTP
// server's worker threads.
//
// As RabbitMQ's API: every GET route takes HEAD too (the same status and
// headers, no body); a 404 of a GET, HEAD or DELETE, or of a path no route
// knows, is {"error":"Object Not Found","reason":"Not Found"}; `columns`
// and `disable_stats` shape every JSON answer (listing.h, Shape).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "http/query.h"
#include "http/server.h"
#include "mgmt/node_client.h"
#include "mgmt/reply.h"

namespace warren::mgmt {

using QueryParams = http::QueryParams;

struct Call {
  const http::Request& http;
  NodeClient& nodes;
  Caller caller;                   // credentials and address, passed to the node
  std::vector<std::string> args;   // the pattern's {} segments, decoded
  QueryParams query;               // decoded, in order
  // warren-mgmt's own listeners (Router::set_contexts); null: none known.
  const std::vector<http::Bound>* contexts = nullptr;

  const std::string& arg(size_t i) const { return args.at(i); }
  bool HasQuery(const std::string& name) const;
  // The first value of `name`; "" when absent.
  std::string Query(const std::string& name) const;
  bool QueryFlag(const std::string& name) const { return Query(name) == "true"; }
  // A listing of the vhost args[0] names, or of every vhost when none.
  v1::ListRequest ListScope() const {
    v1::ListRequest r;
    if (args.empty()) r.set_all_vhosts(true);
    else r.set_vhost(args[0]);
    return r;
  }

  // Calls the node; nullopt when it answered OK, else the HTTP error reply.
  template <typename Request, typename Response>
  std::optional<Reply> Rpc(Method<Request, Response> method, const Request& request,
                           Response& response) {
    grpc::Status s = nodes.Call(caller, method, request, response);
    if (s.ok()) return std::nullopt;
    return FromGrpc(s);
  }
};

using Handler = std::function<Reply(Call&)>;

class Rates;

class Router {
 public:
  void Add(const std::string& method, const std::string& pattern, Handler handler);
  // A route anyone may call, without credentials (/api/auth: what the login
  // page needs before it has any).
  void AddPublic(const std::string& method, const std::string& pattern, Handler handler);
  // Whether the route taking this method and target needs no credentials.
  bool Public(const std::string& method, const std::string& target) const;
  // nullopt when a route takes this method and target; else 404 for an
  // unknown path, 405 for a known path and another method.
  std::optional<Reply> Find(const std::string& method, const std::string& target) const;
  // 401 without Basic credentials (unless the route is public); otherwise
  // Find's error or the route's reply, with rates (when set_rates gave
  // them), `columns` and `disable_stats` applied.
  Reply Dispatch(const http::Request& request, NodeClient& nodes) const;
  // The route's own reply, as Dispatch's before rates and shaping (what the
  // sampler of rates.h reads).
  Reply Handle(const http::Request& request, NodeClient& nodes) const;
  // The rates Dispatch adds to stats-bearing answers; they outlive the
  // router's use. Set once, before serving.
  void set_rates(Rates* rates) { rates_ = rates; }
  // warren-mgmt's listeners, which the overview and nodes list as
  // RabbitMQ's "contexts". Set once, before serving and sampling.
  void set_contexts(std::vector<http::Bound> contexts) { contexts_ = std::move(contexts); }

 private:
  struct Route {
    std::string method;
    std::vector<std::string> pattern;
    Handler handler;
    bool is_public = false;
  };
  const Route* Match(const std::string& method, const std::vector<std::string>& path,
                     std::vector<std::string>& args, bool& path_known) const;

  Reply Run(Call& call, const Route& route) const;

  std::vector<Route> routes_;
  Rates* rates_ = nullptr;
  std::vector<http::Bound> contexts_;
};

// The path of a request target split at "/", each segment percent-decoded
// (no "+" for space: that is a query's convention).
std::vector<std::string> PathSegments(const std::string& target);
// Percent-encodes one path segment (what Location headers carry).
std::string EncodeSegment(const std::string& segment);

// Every route of the API (the Add*Routes below).
Router ApiRouter();

void AddNodeRoutes(Router& router);
void AddHealthRoutes(Router& router);
void AddAccessRoutes(Router& router);
void AddTopicPermissionRoutes(Router& router);
void AddUserLimitRoutes(Router& router);
void AddPolicyRoutes(Router& router);  // and operator policies
void AddParameterRoutes(Router& router);
void AddQueueRoutes(Router& router);
void AddExchangeRoutes(Router& router);
void AddBindingRoutes(Router& router);
void AddConnectionRoutes(Router& router);
void AddAbsentRoutes(Router& router);

}  // namespace warren::mgmt
