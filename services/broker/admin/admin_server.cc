#include "broker/admin/admin_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <future>

#include "amqp/constants.h"
#include "broker/admin/admin_service.h"
#include "broker/core/broker.h"
#include "common/await.h"
#include "common/basic_auth.h"
#include "common/config.h"
#include "common/log.h"

namespace warren::admin {

namespace {

using amqp::ReplyCode;

// gRPC names peers "ipv4:127.0.0.1:5000" or "ipv6:[::1]:5000".
bool PeerIsLoopback(const std::string& peer) {
  return peer.rfind("ipv4:127.", 0) == 0 || peer.rfind("ipv6:[::1]", 0) == 0 ||
         peer.rfind("ipv6:[::ffff:127.", 0) == 0 || peer.rfind("unix:", 0) == 0;
}

// An address as text: "127.0.0.1", "::1", "::ffff:127.0.0.1" (or in brackets).
bool AddressIsLoopback(std::string_view address) {
  if (address.size() > 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  in_addr v4;
  in6_addr v6;
  const std::string text(address);
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

}  // namespace

bool Caller::has(std::string_view tag) const {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

grpc::Status ToGrpc(const Error& e) {
  std::string text = e.text;
  if (size_t dash = text.find(" - "); dash != std::string::npos &&
      std::all_of(text.begin(), text.begin() + dash,
                  [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; }))
    text = text.substr(dash + 3);
  switch (static_cast<ReplyCode>(e.code)) {
    case ReplyCode::kNotFound: return {grpc::StatusCode::NOT_FOUND, text};
    case ReplyCode::kAccessRefused: return {grpc::StatusCode::PERMISSION_DENIED, text};
    case ReplyCode::kResourceLocked: return {grpc::StatusCode::FAILED_PRECONDITION, text};
    // A cluster could not commit the change in time: try again.
    case ReplyCode::kChannelError: return {grpc::StatusCode::UNAVAILABLE, text};
    default: return {grpc::StatusCode::INVALID_ARGUMENT, text};
  }
}

grpc::Status ToGrpc(const Status& s) { return s.ok() ? grpc::Status::OK : ToGrpc(s.error()); }
grpc::Status NotFound(const std::string& text) { return {grpc::StatusCode::NOT_FOUND, text}; }
grpc::Status Invalid(const std::string& text) {
  return {grpc::StatusCode::INVALID_ARGUMENT, text};
}

grpc::Status NoQueue(const std::string& name, const std::string& vhost) {
  return NotFound("queue '" + name + "' in vhost '" + vhost + "' does not exist");
}
grpc::Status NoVHost(const std::string& name) {
  return NotFound("Virtual host \"" + name + "\" does not exist");
}
grpc::Status NoUser(const std::string& name) {
  return NotFound("User \"" + name + "\" does not exist");
}

grpc::Status AdminService::ReadCredentials(grpc::ServerContext* call, Credentials& out) {
  const auto& md = call->client_metadata();
  auto it = md.find("authorization");
  if (it == md.end() || !ParseBasicAuth(std::string_view(it->second.data(), it->second.size()),
                                        out.user, out.password))
    return {grpc::StatusCode::UNAUTHENTICATED,
            "no credentials: send \"authorization: Basic base64(user:password)\""};
  out.loopback = PeerIsLoopback(call->peer());
  // warren-mgmt names the HTTP client it speaks for; that client must be on
  // loopback too for a loopback-only user. (A caller can only make this
  // stricter: the gRPC peer is checked in any case.)
  if (auto f = md.find(kClientAddressKey); f != md.end())
    out.loopback = out.loopback &&
                   AddressIsLoopback(std::string_view(f->second.data(), f->second.size()));
  return grpc::Status::OK;
}

grpc::Status AdminService::Admit(const Credentials& who, Need need, const std::string& vhost,
                                 Caller& caller, bool any_state) const {
  const core::User* u = broker().Authenticate(who.user, who.password);
  if (!u || (!who.loopback && broker().IsLoopbackOnly(who.user)))
    return {grpc::StatusCode::UNAUTHENTICATED,
            u ? "user '" + who.user + "' can only connect via localhost"
              : "invalid credentials for user '" + who.user + "'"};
  caller = Caller{u->name, u->tags};
  grpc::Status authorized = Authorize(caller, need, vhost);
  if (authorized.ok() && !any_state && ctx_.app_running && !ctx_.app_running())
    return {grpc::StatusCode::FAILED_PRECONDITION,
            "the application is not running on this node (stop_app): run start_app first"};
  return authorized;
}

grpc::Status AdminService::OnLoop(const std::function<grpc::Status()>& fn) {
  std::promise<grpc::Status> done;
  std::future<grpc::Status> result = done.get_future();
  ctx_.post([&] { done.set_value(fn()); });
  // The loop may stop (node shutdown) before it runs the work.
  if (!AwaitUnlessStopped(result, ctx_.loop_stopped))
    return {grpc::StatusCode::UNAVAILABLE, "the node is stopping"};
  return result.get();
}

grpc::Status AdminService::Run(grpc::ServerContext* call, Need need, const std::string& vhost,
                               Work work) {
  Credentials who;
  if (grpc::Status s = ReadCredentials(call, who); !s.ok()) return s;
  return OnLoop([&] {
    Caller caller;
    grpc::Status admitted = Admit(who, need, vhost, caller);
    return admitted.ok() ? work(caller) : admitted;
  });
}

grpc::Status AdminService::RunAnyState(grpc::ServerContext* call, Need need, Work work) {
  Credentials who;
  if (grpc::Status s = ReadCredentials(call, who); !s.ok()) return s;
  return OnLoop([&] {
    Caller caller;
    grpc::Status admitted = Admit(who, need, "", caller, /*any_state=*/true);
    return admitted.ok() ? work(caller) : admitted;
  });
}

grpc::Status AdminService::Admitted(grpc::ServerContext* call, Need need,
                                    const std::string& vhost, Caller& caller) {
  Credentials who;
  if (grpc::Status s = ReadCredentials(call, who); !s.ok()) return s;
  return OnLoop([&] { return Admit(who, need, vhost, caller); });
}

grpc::Status AdminService::Run(grpc::ServerContext* call, Need need, const std::string& vhost,
                               Parse parse, Work work) {
  Caller caller;
  if (grpc::Status s = Admitted(call, need, vhost, caller); !s.ok()) return s;
  if (grpc::Status s = parse(); !s.ok()) return s;
  return OnLoop([&] { return work(caller); });
}

grpc::Status AdminService::Change(grpc::ServerContext* call, Need need, const std::string& vhost,
                                  Plan plan, Answer answer) {
  return Change(call, need, vhost, [] { return grpc::Status::OK; }, std::move(plan),
                std::move(answer));
}

grpc::Status AdminService::Change(grpc::ServerContext* call, Need need, const std::string& vhost,
                                  Parse parse, Plan plan, Answer answer) {
  Caller caller;
  if (grpc::Status s = Admitted(call, need, vhost, caller); !s.ok()) return s;
  if (grpc::Status s = parse(); !s.ok()) return s;
  return Submit(caller, plan, answer);
}

grpc::Status AdminService::Submit(const Caller& caller, const Plan& plan, const Answer& answer) {
  // Shared with the gate's answer, which may come after this call gave up.
  auto outcome = std::make_shared<std::promise<core::Outcome>>();
  std::future<core::Outcome> result = outcome->get_future();
  bool submitted = false;
  auto plan_and_submit = [&] {
    std::optional<core::Command> command;
    grpc::Status s = plan(caller, command);
    if (!s.ok() || !command) return s;
    submitted = true;
    broker().metadata().Submit(std::move(*command),
                               [outcome](const core::Outcome& o) { outcome->set_value(o); });
    return grpc::Status::OK;
  };
  grpc::Status planned = OnLoop(plan_and_submit);
  if (planned.error_code() == grpc::StatusCode::NOT_FOUND) {
    // What the plan did not find may be a change just acknowledged through
    // another node: this node catches up with its cluster (a barrier; at
    // once for a node alone) and plans once more (docs/cluster.md).
    auto synced = std::make_shared<std::promise<void>>();
    std::future<void> caught_up = synced->get_future();
    OnLoop([&] {
      broker().metadata().Barrier([synced] { synced->set_value(); });
      return grpc::Status::OK;
    });
    if (!AwaitUnlessStopped(caught_up, ctx_.loop_stopped))
      return {grpc::StatusCode::UNAVAILABLE, "the node is stopping"};
    planned = OnLoop(plan_and_submit);
  }
  if (!planned.ok() || !submitted) return planned;
  // The gate answers every change once; a cluster within its proposal
  // timeout. Only a loop that stops first leaves it unanswered.
  if (!AwaitUnlessStopped(result, ctx_.loop_stopped))
    return {grpc::StatusCode::UNAVAILABLE, "the node is stopping"};
  core::Outcome o = result.get();
  return answer ? answer(o) : ToGrpc(o.status);
}

grpc::Status AdminService::Authorize(const Caller& c, Need need, const std::string& vhost) const {
  auto denied = [&](const std::string& what) {
    std::string tags;
    for (const auto& t : c.tags) tags += (tags.empty() ? "" : ",") + t;
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "user '" + c.user + "' (tags [" + tags + "]) may not " + what);
  };
  if (c.has("administrator")) return grpc::Status::OK;
  switch (need) {
    case Need::kAdministrator: return denied("do this: it needs the administrator tag");
    case Need::kMonitoring:
      return c.has("monitoring") ? grpc::Status::OK
                                 : denied("do this: it needs the monitoring tag");
    case Need::kPolicymaker:
      if (!c.has("policymaker")) return denied("manage policies: it needs the policymaker tag");
      break;
    case Need::kManagement:
      if (c.has("monitoring")) return grpc::Status::OK;
      if (!c.has("management") && !c.has("policymaker"))
        return denied("use the Admin API: it needs the management tag");
      break;
  }
  if (!vhost.empty() && !broker().CanAccessVHost(c.user, vhost))
    return denied("access vhost '" + vhost + "'");
  return grpc::Status::OK;
}

grpc::Status AdminService::ListedVHosts(const Caller& c, const v1::ListRequest& r,
                                        std::vector<std::string>& out) const {
  if (!r.all_vhosts()) {
    std::string name = VHostOf(r.vhost());
    if (!broker().FindVHost(name)) return NotFound("vhost '" + name + "' does not exist");
    if (!c.sees_all() && !broker().CanAccessVHost(c.user, name))
      return {grpc::StatusCode::PERMISSION_DENIED,
              "user '" + c.user + "' may not access vhost '" + name + "'"};
    out.push_back(name);
    return grpc::Status::OK;
  }
  for (const auto& [name, v] : broker().vhosts())
    if (c.sees_all() || broker().CanAccessVHost(c.user, name)) out.push_back(name);
  return grpc::Status::OK;
}

AdminServer::AdminServer(AdminContext context)
    : context_(std::move(context)), service_(std::make_unique<AdminService>(context_)) {}

AdminServer::~AdminServer() { Shutdown(); }

uint16_t AdminServer::Start(const std::string& host, uint16_t port,
                            const std::vector<grpc::Service*>& others,
                            std::shared_ptr<grpc::ServerCredentials> credentials) {
  if (!credentials) credentials = grpc::InsecureServerCredentials();
  grpc::ServerBuilder builder;
  int bound = 0;
  std::string address = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                        std::to_string(port);
  builder.AddListeningPort(address, credentials, &bound);
  builder.RegisterService(service_.get());
  for (grpc::Service* other : others) builder.RegisterService(other);
  builder.SetMaxReceiveMessageSize(64 << 20);  // definitions files
  // A second node given the same port must fail to start, not share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Peers ping their long-lived Queues streams every 2 s (cluster_service.cc).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.SetMaxSendMessageSize(256 << 20);    // listings of many queues
  server_ = builder.BuildAndStart();
  if (!server_ || bound == 0) {
    server_.reset();
    throw ConfigError("grpc_listen: cannot listen on " + address);
  }
  return static_cast<uint16_t>(bound);
}

void AdminServer::Shutdown() {
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();
  server_.reset();
}

}  // namespace warren::admin
