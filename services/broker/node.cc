#include "broker/node.h"

#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <cstdlib>
#include <filesystem>

#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <asio/post.hpp>
#include <grpcpp/impl/service_type.h>

#include "broker/admin/admin_server.h"
#include "broker/admin/definitions_json.h"
#include "broker/cluster/cluster_service.h"
#include "broker/cluster/forwarding.h"
#include "broker/cluster/member.h"
#include "broker/cluster/queue_replicator.h"
#include "broker/cluster/membership.h"
#include "broker/cluster/peer_probe.h"
#include "broker/cluster/queue_home.h"
#include "broker/cluster/queue_wire.h"
#include "broker/cluster/remote_queues.h"
#include "broker/cluster/raft_driver.h"
#include "broker/cluster/secret.h"
#include "broker/core/broker.h"
#include "broker/core/command.h"
#include "broker/net/asio_runtime.h"
#include "broker/net/listener.h"
#include "broker/resources.h"
#include "broker/store/restore.h"
#include "broker/store/store.h"
#include "common/await.h"
#include "common/grpc_tls.h"
#include "common/log.h"
#include "common/password.h"

namespace warren {

void ResolveDefaults(NodeConfig& config) {
  if (config.node_name.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    config.node_name = std::string("warren@") + host;
  }
  if (config.data_dir.empty()) {
    std::error_code ec;
    const std::filesystem::path preferred = "/var/lib/warren";
    std::filesystem::create_directories(preferred, ec);
    config.data_dir = !ec && access(preferred.c_str(), W_OK) == 0
                          ? preferred.string()
                          : (std::filesystem::current_path() / "warren-data").string();
  }
}

uint64_t RaiseFileLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur;
}

Node::Node(NodeConfig config)
    : config_(std::move(config)), io_(std::make_unique<asio::io_context>(1)),
      runtime_(std::make_unique<net::AsioRuntime>(*io_)),
      broker_(std::make_unique<core::Broker>(*runtime_, config_)) {}

namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The store could not make something durable and will confirm nothing
// more. Exiting at once leaves the disk as a kill -9 would, which recovery
// is built for; a clean shutdown would only write more to a failing disk.
[[noreturn]] void ExitOnStoreFailure(const std::string& why) {
  spdlog::critical("{}; stopping the node so that nothing more is confirmed: restart it to "
                   "recover from what is on disk", why);
  spdlog::default_logger()->flush();
  std::_Exit(kExitStoreFailed);
}

uint64_t OpenFiles() {
  std::error_code ec;
  uint64_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

}  // namespace

Node::~Node() {
  admin_.reset();
  listener_.reset();
  tls_listener_.reset();
  closed_listeners_.clear();  // their sessions use the broker
  DropMember();
  resources_.reset();
  if (store_) store_->Close();
  broker_.reset();
  store_.reset();
}

void Node::OpenStore() {
  store::StoreOptions o;
  o.data_dir = config_.data_dir;
  o.fsync = config_.fsync;
  o.segment_size = config_.segment_size;
  o.post = LoopPost();
  o.on_fatal = [](const std::string& why) { ExitOnStoreFailure(why); };
  store_ = std::make_unique<store::Store>(std::move(o));
  bool fresh = false;
  if (Status s = store_->Open(fresh); !s.ok()) throw ConfigError("data_dir: " + s.error().text);
  broker_->set_persistence(store_.get());
  if (Status s = store::Restore(*store_, *broker_); !s.ok())
    throw ConfigError("data_dir: " + s.error().text);
  LoadAccess(fresh);
}

namespace {

// Metadata changes, each with what it comes from (a config key, a file's item).
using NamedChanges = std::vector<std::pair<core::Command, std::string>>;

// The config file's vhosts, users and permissions (and on a fresh data
// directory the default vhost and user first) as changes, each with the
// config key it comes from.
NamedChanges AccessChanges(const NodeConfig& config, bool fresh) {
  namespace cmd = core::cmd;
  NamedChanges out;
  if (fresh && !config.default_vhost.empty())
    out.emplace_back(cmd::AddVHost{config.default_vhost}, "default_vhost");
  for (const auto& v : config.vhosts) out.emplace_back(cmd::AddVHost{v}, "vhosts." + v);
  if (fresh && !config.default_user.empty()) {
    out.emplace_back(cmd::AddUser{config.default_user, HashPassword(config.default_pass),
                                  {"administrator"}},
                     "default_user");
    if (!config.default_vhost.empty())
      out.emplace_back(
          cmd::SetPermissions{config.default_user, config.default_vhost, ".*", ".*", ".*"},
          "default_user");
  }
  for (const auto& u : config.users) {
    if (!u.password_hash.empty() && !IsValidPasswordHash(u.password_hash))
      throw ConfigError("users." + u.name + ".password_hash: not a salted SHA-256 hash");
    std::string hash = u.password_hash.empty() ? HashPassword(u.password) : u.password_hash;
    out.emplace_back(cmd::AddUser{u.name, hash, u.tags}, "users." + u.name);
  }
  for (const auto& p : config.permissions)
    out.emplace_back(cmd::SetPermissions{p.user, p.vhost, p.configure, p.write, p.read},
                     "permissions." + p.user + "@" + p.vhost);
  return out;
}

// The cluster's permanent id and name where it has none yet
// (docs/parameters.md): a node alone applies them at its start; a member
// proposes them through the log instead, never into its own model first,
// so the first applied wins on every member.
NamedChanges IdentityChanges(const NodeConfig& config) {
  namespace cmd = core::cmd;
  NamedChanges out;
  out.emplace_back(cmd::SetParameter{"", "", std::string(core::kClusterIdParameter),
                                     nlohmann::json(core::NewClusterId()).dump(), true},
                   "internal_cluster_id");
  out.emplace_back(cmd::SetParameter{"", "", std::string(core::kClusterNameParameter),
                                     nlohmann::json(config.node_name).dump(), true},
                   "cluster_name");
  return out;
}

// Applies `changes` in order, before the loop runs; the first refused stops
// the start with a line naming what it came from.
void ApplyAtStart(core::Broker& broker, const NamedChanges& changes) {
  for (const auto& [change, what] : changes) {
    core::Outcome o = core::Apply(broker, change);
    if (!o.status.ok()) throw ConfigError(what + ": " + o.status.error().text);
  }
}

}  // namespace

void Node::LoadAccess(bool fresh) { ApplyAtStart(*broker_, AccessChanges(config_, fresh)); }

struct Node::Definitions {
  NamedChanges changes;
};

void Node::ReadDefinitions() {
  definitions_ = std::make_unique<Definitions>();
  if (config_.load_definitions.empty()) return;
  auto steps = admin::ReadDefinitionsFile(config_.load_definitions);
  if (!steps.ok()) throw ConfigError(steps.error().text);
  for (admin::ImportStep& step : steps.value()) {
    std::string what = "load_definitions " + config_.load_definitions + ": " + step.where;
    definitions_->changes.emplace_back(std::move(step.command), std::move(what));
  }
}

// In the file's order, each applied before the next is checked, so a
// policy finds the vhost made before it.
void Node::ApplyDefinitions() {
  ApplyAtStart(*broker_, definitions_->changes);
  if (!definitions_->changes.empty())
    spdlog::info("load_definitions: {} definitions from {} applied",
                 definitions_->changes.size(), config_.load_definitions);
}

void Node::LoadClusterSecret() {
  std::string path = config_.cluster_secret_file;
  if (path.empty()) path = (std::filesystem::path(config_.data_dir) / "cluster-secret").string();
  bool created = false;
  secret_ = std::make_unique<cluster::Secret>(cluster::Secret::LoadOrCreate(path, created));
  spdlog::info("cluster secret {} {}", created ? "made in" : "read from", path);
}

void Node::Start() {
  CheckListeners(config_);
  spdlog::info("node {} starting, data directory {}", config_.node_name, config_.data_dir);
  ReadDefinitions();
  LoadClusterSecret();
  OpenStore();
  resources_ = std::make_unique<ResourceMonitor>(
      *broker_, *runtime_, config_, [this](std::string& why) {
        bool blocked = store_->Poll();
        if (blocked) why = store_->blocked_reason();
        return blocked;
      });
  resources_->Start();
  // The cluster before AMQP: no client's change may reach a node that has
  // not yet routed changes through the cluster.
  StartAdmin();
  JoinCluster();
  if (!member_) {  // a member proposed them (Adopt)
    ApplyDefinitions();
    ApplyAtStart(*broker_, IdentityChanges(config_));
  }
  started_ms_ = SteadyMs();
  // The loop does not run yet: these pings need nothing of it.
  if (member_ && Forgotten(member_->id(), member_->Peers())) {
    spdlog::error("{}; the node starts with its application stopped",
                  ForgottenError(member_->id()).text);
    return;
  }
  if (Status s = ListenAmqp(); !s.ok()) throw ConfigError(s.error().text);
}

Status Node::ListenAmqp() {
  if (!ListenerOff(config_.amqp_listen))
    if (Status s = Listen("amqp_listen", config_.amqp_listen, amqp_bound_port_, listener_, false);
        !s.ok())
      return s;
  if (!ListenerOff(config_.amqps_listen))
    if (Status s = Listen("amqps_listen", config_.amqps_listen, amqps_bound_port_,
                          tls_listener_, true);
        !s.ok()) {
      if (listener_) {
        listener_->Shutdown();
        closed_listeners_.push_back(std::move(listener_));
      }
      return s;
    }
  app_running_ = true;
  return Status::Ok();
}

Status Node::Listen(const std::string& key, const std::string& address, uint16_t& bound_port,
                    std::unique_ptr<net::Listener>& out, bool tls) {
  HostPort at = ParseHostPort(address, key);
  // start_app after stop_app: the port chosen at the first start (port 0).
  if (at.port == 0) at.port = bound_port;
  tls::Context context;
  if (tls) {
    // Read at every start_app too: the files in place now are the ones used.
    Result<tls::Context> made = tls::ServerContext(config_.tls);
    if (!made.ok()) return Error{409, key + ": " + made.error().text};
    context = std::move(made.value());
  }
  auto listener = std::make_unique<net::Listener>(*io_, *broker_, std::move(context),
                                                  config_.tls.handshake_timeout);
  try {
    listener->Listen(at.host, at.port);
  } catch (const std::system_error& e) {
    return Error{409, key + ": cannot listen on " + address + ": " + e.code().message()};
  }
  out = std::move(listener);
  bound_port = out->port();
  spdlog::info("{} listening on {}:{}", tls ? "amqps" : "amqp", out->host(), out->port());
  return Status::Ok();
}

void Node::ReloadTls() {
  asio::post(*io_, [this] {
    if (!tls_listener_) {
      spdlog::info("SIGHUP: no AMQPS listener, no certificates to reload");
      return;
    }
    Result<tls::Context> made = tls::ServerContext(config_.tls);
    if (!made.ok()) {
      spdlog::error("SIGHUP: certificates not reloaded, those in use stay: {}",
                    made.error().text);
      return;
    }
    tls_listener_->ReplaceTls(std::move(made.value()));
    spdlog::info("SIGHUP: certificates reloaded from {}; established connections keep theirs",
                 config_.tls.cert_file);
  });
}

std::function<void(std::function<void()>)> Node::LoopPost() const {
  asio::io_context* io = io_.get();
  return [io](std::function<void()> fn) { asio::post(*io, std::move(fn)); };
}

cluster::MemberOptions Node::MemberOptionsFor() const {
  cluster::MemberOptions o;
  o.seeds = config_.cluster_seeds;
  o.node_name = config_.node_name;
  o.address = AdvertisedAddress();
  o.data_dir = config_.data_dir;
  o.post = LoopPost();
  o.on_fatal = [](const std::string& why) { ExitOnStoreFailure("cluster: " + why); };
  return o;
}

void Node::JoinCluster() {
  Result<uint64_t> recorded = cluster::Member::RecordedId(config_.data_dir);
  if (!recorded.ok()) throw ConfigError(recorded.error().text);
  if (config_.cluster_seeds.empty() && recorded.value() == 0) return;  // alone: a cluster of one
  if (config_.tls.serving() && config_.tls.ca_file.empty())
    throw ConfigError("tls: the nodes of a cluster check each other's certificates: set ca_file "
                      "(the CA that signed them)");
  auto member = config_.cluster_seeds.empty()
                    ? cluster::Member::Resume(MemberOptionsFor(), *secret_, *runtime_, *broker_)
                    : cluster::Member::Join(MemberOptionsFor(), *secret_, *runtime_, *broker_);
  if (!member.ok()) throw ConfigError(member.error().text);
  Adopt(std::move(member.value()));
}

std::string Node::AdvertisedAddress() const {
  std::string host = ParseHostPort(config_.grpc_listen, "grpc_listen").host;
  if (host.empty() || host == "0.0.0.0" || host == "::") {
    char name[256] = {};
    gethostname(name, sizeof name - 1);
    host = name;
  }
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(grpc_port_);
}

void Node::StartAdmin() {
  HostPort grpc = ParseHostPort(config_.grpc_listen, "grpc_listen");
  // With a certificate and a CA, nodes speak mutual TLS to each other:
  // each presents its certificate and checks the other's (docs/tls.md).
  if (config_.tls.serving() && !config_.tls.ca_file.empty())
    secret_->UseTls(tls::GrpcChannelCredentials(config_.tls));
  // gRPC reads its certificate once, here: its expiry for the health check.
  if (config_.tls.serving())
    if (Result<tls::Context> ctx = tls::ServerContext(config_.tls); ctx.ok())
      grpc_certificate_not_after_ = tls::CertificateNotAfter(ctx.value());
  admin::AdminContext c;
  c.broker = broker_.get();
  asio::io_context* io = io_.get();
  c.post = LoopPost();
  c.loop_stopped = [io] { return io->stopped(); };
  c.status = [this] { return Describe(); };
  c.cluster = [this] { return DescribeCluster(); };
  probe_ = std::make_unique<cluster::PeerProbe>(*secret_, config_.node_name);
  c.probe = [this](admin::ClusterView& view) { ProbePeers(view); };
  c.stop_app = [this] { return StopApp(); };
  c.start_app = [this] { return StartApp(); };
  c.reset = [this] { return Reset(); };
  c.join_cluster = [this](const std::string& node) { return JoinClusterOf(node); };
  c.forget_cluster_node = [this](const std::string& node, bool offline) {
    return ForgetClusterNode(node, offline);
  };
  c.app_running = [this] { return app_running_.load(); };
  admin_ = std::make_unique<admin::AdminServer>(std::move(c));
  // What peers send is handed to the member on the loop; until it exists
  // (JoinCluster), or on a node alone, it is dropped or refused.
  auto inbox = [this, io](const std::string&, std::vector<std::string> messages,
                          std::function<void()> handled) {
    asio::post(*io, [this, messages = std::move(messages), handled = std::move(handled)]() mutable {
      if (member_) member_->Receive(messages);
      handled();
    });
  };
  auto propose = [this, io](std::string command,
                            std::function<void(cluster::ForwardResult)> reply) {
    asio::post(*io, [this, command = std::move(command), reply = std::move(reply)]() mutable {
      if (member_) {
        member_->ProposeForPeer(std::move(command), std::move(reply));
        return;
      }
      cluster::ForwardResult refused;
      refused.outcome.status =
          cluster::NotCommitted(config_.node_name + " is not a member of a cluster");
      reply(refused);
    });
  };
  auto members = [this, io](cluster::MembersChange change,
                            std::function<void(cluster::MembersResult)> reply) {
    asio::post(*io, [this, change = std::move(change), reply = std::move(reply)]() mutable {
      ChangeMembers(std::move(change), std::move(reply));
    });
  };
  auto state = [this](uint64_t caller) {
    cluster::PingState s{app_running_.load(), member_id_.load(), false};
    std::lock_guard<std::mutex> lock(known_mu_);
    if (caller != 0 && known_ids_) s.knows_caller = known_ids_->Contains(caller);
    return s;
  };
  // A stream from a member whose clients use queues homed here.
  auto queues = [this, io](std::shared_ptr<cluster::HomeLink> link,
                           std::shared_ptr<v1::QueueFrame> frame) {
    asio::post(*io, [this, link = std::move(link), frame = std::move(frame)] {
      if (queue_home_) queue_home_->Receive(link, frame.get());
      else if (frame) link->End();  // not a member (any more)
    });
  };
  cluster_service_ = cluster::MakeClusterService(*secret_, config_.node_name,
                                                 {inbox, propose, members, state, queues});
  grpc_port_ = admin_->Start(grpc.host, grpc.port, {cluster_service_.get()},
                             tls::GrpcServerCredentials(config_.tls));
  spdlog::info("grpc listening on {}:{}{}", grpc.host, grpc_port_,
               config_.tls.serving() ? " (TLS)" : "");
}

admin::NodeStatus Node::Describe() const {
  admin::NodeStatus s;
  s.node_name = config_.node_name;
  s.data_dir = config_.data_dir;
  s.uptime_ms = static_cast<uint64_t>(SteadyMs() - started_ms_);
  s.memory_bytes = ResidentMemory();
  s.memory_limit = resources_ ? resources_->memory_limit() : 0;
  struct statvfs fs {};
  if (statvfs(config_.data_dir.c_str(), &fs) == 0)
    s.disk_free = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  s.disk_free_limit = config_.disk_free_limit;
  if (listener_) s.listeners.push_back({"amqp", listener_->host(), listener_->port()});
  // AMQPS reloads its certificate on SIGHUP; gRPC keeps the one it started
  // with. Both come from the node's files (docs/tls.md).
  const std::string& cert = config_.tls.cert_file;
  const std::string& ca = config_.tls.ca_file;
  if (tls_listener_)
    s.listeners.push_back({"amqp/ssl", tls_listener_->host(), tls_listener_->port(),
                           tls_listener_->certificate_not_after(), cert, ca});
  bool grpc_tls = grpc_certificate_not_after_ != 0;
  s.listeners.push_back({"grpc", ParseHostPort(config_.grpc_listen, "grpc_listen").host,
                         grpc_port_, grpc_certificate_not_after_, grpc_tls ? cert : "",
                         grpc_tls ? ca : ""});
  s.fds_used = OpenFiles();
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) s.fds_limit = lim.rlim_cur;
  // Each client socket is a descriptor: the descriptors are the limit.
  s.sockets_limit = s.fds_limit;
  for (const net::Listener* l : {listener_.get(), tls_listener_.get()}) {
    if (!l) continue;
    s.sockets_used += l->session_count();
    s.fd_alarm = s.fd_alarm || l->out_of_descriptors();
  }
  return s;
}

admin::ClusterView Node::DescribeCluster() const {
  admin::ClusterView view;
  if (!member_) {  // a node alone: a cluster of one that it leads
    view.self = view.leader = 1;
    view.members.push_back({1, AdvertisedAddress(), config_.node_name, true, app_running_});
    return view;
  }
  cluster::MemberView m = member_->Describe();
  view.self = m.self;
  view.leader = m.leader;
  view.term = m.term;
  for (const auto& p : m.members) {
    bool self = p.id == m.self;
    view.members.push_back(
        {p.id, p.address, self ? config_.node_name : p.node, p.voter, self && app_running_});
  }
  return view;
}

void Node::ProbePeers(admin::ClusterView& view) {
  std::vector<admin::ClusterMember*> others;
  std::vector<std::string> addresses;
  for (auto& m : view.members) {
    if (m.id == view.self || m.address.empty()) continue;
    others.push_back(&m);
    addresses.push_back(m.address);
  }
  if (addresses.empty()) return;
  std::vector<cluster::PeerProbe::Answer> answers = probe_->Probe(addresses);
  for (size_t i = 0; i < others.size(); ++i) {
    others[i]->running = answers[i].running;
    // A name the configuration holds stays when the member does not answer.
    if (!answers[i].node_name.empty()) others[i]->node_name = answers[i].node_name;
  }
}

uint16_t Node::amqp_port() const { return listener_ ? listener_->port() : 0; }
uint16_t Node::amqps_port() const { return tls_listener_ ? tls_listener_->port() : 0; }

// ---- Membership (docs/cluster.md, "Members") --------------------------------

Status Node::OnLoop(const std::function<Status()>& fn) {
  std::promise<Status> done;
  std::future<Status> result = done.get_future();
  asio::post(*io_, [&] { done.set_value(fn()); });
  if (!AwaitUnlessStopped(result, [this] { return io_->stopped(); }))
    return Error{503, "the node is stopping"};
  return result.get();
}

namespace {

Error StillRunning(const std::string& node) {
  return Error{409, "Warren is still running on node " + node +
                        ". Please stop it with 'warrenctl stop_app' first."};
}

// A node given seeds forms its seed cluster at every start: a join_cluster
// or reset would be undone, half-way, by its next start (docs/cluster.md,
// "Forming a cluster from seeds").
Error FormedFromSeeds(const std::string& command, const std::string& node) {
  return Error{409, "cannot " + command + ": node " + node +
                        " forms its cluster from its seeds (--cluster-seeds, "
                        "WARREN_CLUSTER_SEEDS or [cluster] seeds); start it without seeds to "
                        "change its membership by hand"};
}

// A Ping's failure as a membership command reports it.
Error Unreached(const std::string& address, const grpc::Status& s) {
  if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED) return Error{403, s.error_message()};
  return Error{503, "cannot reach " + address + ": " + s.error_message()};
}

}  // namespace

Status Node::StopApp() {
  return OnLoop([this]() -> Status {
    if (!app_running_) return Status::Ok();
    app_running_ = false;
    for (auto* l : {&listener_, &tls_listener_}) {
      if (!*l) continue;
      (*l)->Shutdown();
      closed_listeners_.push_back(std::move(*l));
    }
    spdlog::info("stop_app: AMQP no longer listens and its connections are closed; the node "
                 "stays in its cluster");
    return Status::Ok();
  });
}

Status Node::StartApp() {
  uint64_t self = 0;
  std::map<uint64_t, std::string> peers;
  bool running = false;
  if (Status s = OnLoop([&]() -> Status {
        running = app_running_;
        if (running) return Status::Ok();
        if (!member_) {
          // join_cluster enrolled this node: it starts as that member now.
          Result<uint64_t> recorded = cluster::Member::RecordedId(config_.data_dir);
          if (!recorded.ok()) return Error{500, recorded.error().text};
          if (recorded.value() != 0) {
            auto member =
                cluster::Member::Resume(MemberOptionsFor(), *secret_, *runtime_, *broker_);
            if (!member.ok()) return Error{500, member.error().text};
            Adopt(std::move(member.value()));
          }
        }
        if (member_) {
          self = member_->id();
          peers = member_->Peers();
        }
        return Status::Ok();
      });
      !s.ok() || running)
    return s;
  if (self != 0 && Forgotten(self, peers)) return ForgottenError(self);
  return OnLoop([this]() -> Status {
    if (app_running_) return Status::Ok();
    spdlog::info("start_app: the application starts again");
    return ListenAmqp();
  });
}

Error Node::ForgottenError(uint64_t self) const {
  return Error{409, "this node (member " + std::to_string(self) +
                        ") was removed from its cluster (forget_cluster_node) and must not serve "
                        "the metadata it kept: reset it, then join again or use it alone"};
}

void Node::Adopt(std::unique_ptr<cluster::Member> member) {
  member_ = std::move(member);
  member_->Start();
  // The config file's access definitions and its load_definitions file are
  // the cluster's, as every other change (docs/cluster.md, "Forming a
  // cluster from seeds"); the default user and vhost stay each node's first
  // start's.
  auto own = AccessChanges(config_, /*fresh=*/false);
  if (definitions_)
    own.insert(own.end(), definitions_->changes.begin(), definitions_->changes.end());
  auto identity = IdentityChanges(config_);
  own.insert(own.end(), identity.begin(), identity.end());
  member_->ProposeOwn(std::move(own));
  member_id_ = member_->id();
  auto post = LoopPost();
  // Changes a member forwards on its Queues stream, as Cluster.Propose.
  auto propose = [this](std::string command, std::function<void(cluster::ForwardResult)> reply) {
    member_->ProposeForPeer(std::move(command), std::move(reply));
  };
  auto renew = [this](const std::string& node) { return member_->GrantLease(node); };
  queue_home_ = std::make_unique<cluster::QueueHome>(*broker_, post, propose, renew);
  broker_->set_mirror_source(queue_home_.get());
  cluster::RemoteQueuesOptions q;
  q.self = config_.node_name;
  q.post = post;
  q.resolve = [this](uint64_t id) {
    for (const cluster::MemberView::Peer& p : member_->Describe().members)
      if (p.id == id) return std::make_pair(p.address, p.node);
    return std::make_pair(std::string(), std::string());
  };
  q.members = [this] {
    std::vector<uint64_t> ids;
    for (const cluster::MemberView::Peer& p : member_->Describe().members) ids.push_back(p.id);
    return ids;
  };
  q.max_message_size = config_.max_message_size;
  remote_queues_ = std::make_unique<cluster::RemoteQueues>(std::move(q), *secret_, *runtime_);
  broker_->set_remote(remote_queues_.get());
  member_->ForwardThrough(remote_queues_.get());
  replicator_ = std::make_unique<cluster::QueueReplicator>(*broker_, *remote_queues_,
                                                           member_->gate(), *runtime_,
                                                           &queue_home_->copies());
  broker_->set_mirror_sync(replicator_.get());
  std::lock_guard<std::mutex> lock(known_mu_);
  known_ids_ = member_->known_ids();
}

void Node::DropMember() {
  if (broker_) broker_->set_remote(nullptr);
  if (broker_) broker_->set_mirror_source(nullptr);
  if (broker_) broker_->set_mirror_sync(nullptr);
  if (member_) member_->ForwardThrough(nullptr);
  replicator_.reset();
  remote_queues_.reset();
  queue_home_.reset();
  member_.reset();
}

bool Node::Forgotten(uint64_t self, const std::map<uint64_t, std::string>& peers) const {
  std::vector<std::future<std::optional<bool>>> answers;
  for (const auto& [id, address] : peers)
    answers.push_back(std::async(std::launch::async, [this, self, address = address] {
      cluster::PeerClient peer(address, *secret_, config_.node_name, /*timeout_ms=*/1000);
      std::string name;
      cluster::PingState state;
      if (!peer.Ping(name, state, self).ok() || state.member == 0) return std::optional<bool>();
      return std::optional<bool>(state.knows_caller);
    }));
  bool unknown = false, known = false;
  for (auto& a : answers) {
    std::optional<bool> knows = a.get();
    if (knows) (*knows ? known : unknown) = true;
  }
  return unknown && !known;
}

Status Node::WipeLocal() {
  {
    std::lock_guard<std::mutex> lock(known_mu_);
    known_ids_.reset();
  }
  DropMember();
  member_id_ = 0;
  if (Status s = cluster::Member::Erase(config_.data_dir); !s.ok()) return Error{500, s.error().text};
  core::Broker& b = *broker_;
  std::vector<std::string> vhosts, users;
  for (const auto& [name, v] : b.vhosts()) vhosts.push_back(name);
  for (const auto& [name, u] : b.users()) users.push_back(name);
  for (const auto& v : vhosts)
    if (Status s = b.DeleteVHost(v); !s.ok()) return Error{500, "reset: " + s.error().text};
  for (const auto& u : users)
    if (Status s = b.DeleteUser(u); !s.ok()) return Error{500, "reset: " + s.error().text};
  std::vector<core::ParameterKey> globals;
  for (const auto& [key, value] : b.parameters()) globals.push_back(key);
  for (const auto& key : globals)
    if (Status s = b.ClearParameter(key); !s.ok()) return Error{500, "reset: " + s.error().text};
  if (b.persistence()) b.persistence()->PutMetadataApplied(0);
  try {
    LoadAccess(/*fresh=*/true);
    ApplyAtStart(b, IdentityChanges(config_));  // a node alone again: a new cluster of one
  } catch (const ConfigError& e) {
    return Error{500, std::string("reset: ") + e.what()};
  }
  spdlog::info("reset: this node is in no cluster and holds only the default user and vhost");
  return Status::Ok();
}

Status Node::Reset() {
  uint64_t self = 0;
  std::vector<std::string> members;
  if (Status s = OnLoop([&]() -> Status {
        if (!config_.cluster_seeds.empty()) return FormedFromSeeds("reset", config_.node_name);
        if (app_running_) return StillRunning(config_.node_name);
        if (member_) {
          self = member_->id();
          members = member_->Addresses();
          return Status::Ok();
        }
        // Enrolled by join_cluster but never started: the cluster has it as
        // a learner all the same.
        Result<cluster::Member::Record> recorded = cluster::Member::Recorded(config_.data_dir);
        if (!recorded.ok()) return Status::Ok();  // wiped below all the same
        self = recorded->id;
        members = recorded->peers;
        members.push_back(AdvertisedAddress());
        return Status::Ok();
      });
      !s.ok())
    return s;
  if (self != 0 && members.size() > 1) {
    // Leave the cluster first: a member that vanished without leaving would
    // count against the majority for ever.
    cluster::MembersChange leave;
    leave.kind = cluster::MembersChange::Kind::kRemove;
    leave.id = self;
    cluster::MembersResult r = cluster::AskLeader(*secret_, config_.node_name, members, leave);
    if (!r.status.ok() && r.status.error().code != 404)
      return Error{r.status.error().code, "reset: the cluster did not let this node leave, so "
                                          "nothing was reset: " + r.status.error().text};
  }
  return OnLoop([this] { return WipeLocal(); });
}

Result<bool> Node::JoinClusterOf(const std::string& node) {
  Result<std::string> address = cluster::NodeAddress(node);
  if (!address.ok()) return address.error();
  uint64_t self = 0;
  std::vector<std::string> members;
  std::string mine;
  if (Status s = OnLoop([&]() -> Status {
        if (!config_.cluster_seeds.empty())
          return FormedFromSeeds("join_cluster", config_.node_name);
        if (app_running_) return StillRunning(config_.node_name);
        mine = AdvertisedAddress();
        if (member_) {
          self = member_->id();
          members = member_->Addresses();
        }
        return Status::Ok();
      });
      !s.ok())
    return s.error();
  cluster::PeerClient target(address.value(), *secret_, config_.node_name);
  std::string name;
  cluster::PingState state;
  if (grpc::Status s = target.Ping(name, state); !s.ok()) return Unreached(address.value(), s);
  if (name == config_.node_name || address.value() == mine)
    return Error{400, "cannot join " + node + ": it is this node itself"};
  bool already = std::find(members.begin(), members.end(), address.value()) != members.end();
  if (self != 0 && already) return true;  // RabbitMQ's {ok, already_member}
  if (self != 0 && members.size() > 1) {
    // A member of another cluster leaves it first, as reset does.
    if (Status s = Reset(); !s.ok()) return s.error();
    self = 0;
  }
  cluster::MembersChange join;
  join.kind = cluster::MembersChange::Kind::kAdd;
  join.address = mine;
  join.node = config_.node_name;
  join.id = self;
  cluster::MembersResult r =
      cluster::AskLeader(*secret_, config_.node_name, {address.value()}, join);
  if (!r.status.ok()) return Error{r.status.error().code, r.status.error().text};
  // Already in that cluster as this very member: its log and metadata stay
  // (wiping a voter's log would let it vote on what it no longer holds).
  if (r.already_member) return true;
  uint64_t id = r.id;
  if (Status s = OnLoop([&]() -> Status {
        if (Status w = WipeLocal(); !w.ok()) return w;
        if (Status e = cluster::Member::Enrol(config_.data_dir, id, r.members); !e.ok())
          return Error{500, e.error().text};
        spdlog::info("join_cluster: this node is member {} of {}'s cluster; start_app starts it",
                     id, name);
        return Status::Ok();
      });
      !s.ok())
    return s.error();
  return false;
}

Status Node::ForgetClusterNode(const std::string& node, bool offline) {
  Result<std::string> address = cluster::NodeAddress(node);
  uint64_t gone = 0, self = 0;
  std::string gone_address;
  std::vector<std::string> members;
  if (Status s = OnLoop([&]() -> Status {
        if (offline && app_running_)
          return Error{409, "--offline: this node (" + config_.node_name +
                                ") is running; stop it with 'warrenctl stop_app' first"};
        if (!offline && !app_running_)
          return Error{409, "this node (" + config_.node_name +
                                ") is stopped: start_app it, or use --offline"};
        if (!member_) return Error{404, node + " is not a member of this node's cluster"};
        self = member_->id();
        members = member_->Addresses();
        for (const auto& m : member_->Describe().members) {
          bool named = m.node == node || (address.ok() && m.address == address.value());
          if (named && gone == 0) {
            gone = m.id;
            gone_address = m.address;
          }
        }
        if (gone == 0) return Error{404, node + " is not a member of this node's cluster"};
        if (gone == self)
          return Error{400, "cannot forget this node itself; run reset on it instead"};
        return Status::Ok();
      });
      !s.ok())
    return s;
  cluster::PeerClient target(gone_address, *secret_, config_.node_name, /*timeout_ms=*/1000);
  std::string name;
  cluster::PingState state;
  if (target.Ping(name, state).ok() && state.running && state.member == gone)
    return Error{409, "cannot forget " + node + ": it is running. Stop it first with "
                                                "'warrenctl -n " + gone_address + " stop_app'"};
  cluster::MembersChange forget;
  forget.kind = cluster::MembersChange::Kind::kRemove;
  forget.id = gone;
  cluster::MembersResult r = cluster::AskLeader(*secret_, config_.node_name, members, forget);
  if (!r.status.ok()) return Error{r.status.error().code, r.status.error().text};
  return Status::Ok();
}

void Node::ChangeMembers(cluster::MembersChange change,
                         std::function<void(cluster::MembersResult)> reply) {
  if (!member_ && change.kind == cluster::MembersChange::Kind::kAdd) {
    if (!app_running_) {
      cluster::MembersResult r;
      r.status = Error{409, config_.node_name + " is stopped; start_app it before others join it"};
      reply(r);
      return;
    }
    // A node alone that a join_cluster names founds the cluster.
    auto member = cluster::Member::Found(MemberOptionsFor(), *secret_, *runtime_, *broker_);
    if (!member.ok()) {
      cluster::MembersResult r;
      r.status = Error{500, member.error().text};
      reply(r);
      return;
    }
    Adopt(std::move(member.value()));
  }
  if (!member_) {
    cluster::MembersResult r;
    r.status = Error{404, config_.node_name + " is in no cluster"};
    reply(r);
    return;
  }
  member_->ChangeMembers(std::move(change), std::move(reply));
}

void Node::Run() { io_->run(); }

void Node::Stop() {
  if (admin_) admin_->Shutdown();
  asio::post(*io_, [this] {
    if (listener_) listener_->Shutdown();
    if (tls_listener_) tls_listener_->Shutdown();
    // Give connections a moment to receive connection.close, then stop.
    runtime_->ScheduleAfter(200, [this] { io_->stop(); });
  });
}

}  // namespace warren
