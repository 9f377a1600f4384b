#include "broker/node.h"

#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <grpcpp/impl/service_type.h>

#include "broker/admin/admin_server.h"
#include "broker/cluster/cluster_service.h"
#include "broker/cluster/forwarding.h"
#include "broker/cluster/member.h"
#include "broker/cluster/peer_probe.h"
#include "broker/cluster/raft_driver.h"
#include "broker/cluster/secret.h"
#include "broker/core/broker.h"
#include "broker/net/asio_runtime.h"
#include "broker/net/listener.h"
#include "broker/resources.h"
#include "broker/store/restore.h"
#include "broker/store/store.h"
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
  member_.reset();
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
  asio::io_context* io = io_.get();
  o.post = [io](std::function<void()> fn) { asio::post(*io, std::move(fn)); };
  o.on_fatal = [](const std::string& why) { ExitOnStoreFailure(why); };
  store_ = std::make_unique<store::Store>(std::move(o));
  bool fresh = false;
  if (Status s = store_->Open(fresh); !s.ok()) throw ConfigError("data_dir: " + s.error().text);
  broker_->set_persistence(store_.get());
  if (Status s = store::Restore(*store_, *broker_); !s.ok())
    throw ConfigError("data_dir: " + s.error().text);
  LoadAccess(fresh);
}

void Node::LoadAccess(bool fresh) {
  core::Broker& b = *broker_;
  auto must = [](Status s, const std::string& what) {
    if (!s.ok()) throw ConfigError(what + ": " + s.error().text);
  };
  if (fresh && !config_.default_vhost.empty())
    must(b.AddVHost(config_.default_vhost), "default_vhost");
  for (const auto& v : config_.vhosts) must(b.AddVHost(v), "vhosts." + v);
  if (fresh && !config_.default_user.empty()) {
    must(b.AddUser(config_.default_user, HashPassword(config_.default_pass), {"administrator"}),
         "default_user");
    if (!config_.default_vhost.empty())
      must(b.SetPermissions(config_.default_user, config_.default_vhost, ".*", ".*", ".*"),
           "default_user");
  }
  for (const auto& u : config_.users) {
    if (!u.password_hash.empty() && !IsValidPasswordHash(u.password_hash))
      throw ConfigError("users." + u.name + ".password_hash: not a salted SHA-256 hash");
    std::string hash = u.password_hash.empty() ? HashPassword(u.password) : u.password_hash;
    must(b.AddUser(u.name, hash, u.tags), "users." + u.name);
  }
  for (const auto& p : config_.permissions)
    must(b.SetPermissions(p.user, p.vhost, p.configure, p.write, p.read),
         "permissions." + p.user + "@" + p.vhost);
}

void Node::LoadClusterSecret() {
  std::string path = config_.cluster_secret_file;
  if (path.empty()) path = (std::filesystem::path(config_.data_dir) / "cluster-secret").string();
  bool created = false;
  secret_ = std::make_unique<cluster::Secret>(cluster::Secret::LoadOrCreate(path, created));
  spdlog::info("cluster secret {} {}", created ? "made in" : "read from", path);
}

void Node::Start() {
  HostPort amqp = ParseHostPort(config_.amqp_listen, "amqp_listen");
  spdlog::info("node {} starting, data directory {}", config_.node_name, config_.data_dir);
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
  listener_ = std::make_unique<net::Listener>(*io_, *broker_);
  try {
    listener_->Listen(amqp.host, amqp.port);
  } catch (const std::system_error& e) {
    throw ConfigError("amqp_listen: cannot listen on " + config_.amqp_listen + ": " +
                      e.code().message());
  }
  spdlog::info("amqp listening on {}:{}", listener_->host(), listener_->port());
  started_ms_ = SteadyMs();
}

void Node::JoinCluster() {
  if (config_.cluster_seeds.empty()) return;  // a node alone: a cluster of one
  cluster::MemberOptions o;
  o.seeds = config_.cluster_seeds;
  o.node_name = config_.node_name;
  o.data_dir = config_.data_dir;
  asio::io_context* io = io_.get();
  o.post = [io](std::function<void()> fn) { asio::post(*io, std::move(fn)); };
  o.on_fatal = [](const std::string& why) { ExitOnStoreFailure("cluster: " + why); };
  auto member = cluster::Member::Join(std::move(o), *secret_, *runtime_, *broker_);
  if (!member.ok()) throw ConfigError(member.error().text);
  member_ = std::move(member.value());
  member_->Start();
}

void Node::StartAdmin() {
  HostPort grpc = ParseHostPort(config_.grpc_listen, "grpc_listen");
  admin::AdminContext c;
  c.broker = broker_.get();
  asio::io_context* io = io_.get();
  c.post = [io](std::function<void()> fn) { asio::post(*io, std::move(fn)); };
  c.loop_stopped = [io] { return io->stopped(); };
  c.status = [this] { return Describe(); };
  c.cluster = [this] { return DescribeCluster(); };
  probe_ = std::make_unique<cluster::PeerProbe>(*secret_, config_.node_name);
  c.probe = [this](admin::ClusterView& view) { ProbePeers(view); };
  admin_ = std::make_unique<admin::AdminServer>(std::move(c));
  // What peers send is handed to the member on the loop; until it exists
  // (JoinCluster), or on a node alone, it is dropped or refused.
  auto inbox = [this, io](const std::string&, std::string message) {
    asio::post(*io, [this, message = std::move(message)]() mutable {
      if (member_) member_->Receive(std::move(message));
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
  cluster_service_ =
      cluster::MakeClusterService(*secret_, config_.node_name, inbox, propose);
  grpc_port_ = admin_->Start(grpc.host, grpc.port, {cluster_service_.get()});
  spdlog::info("grpc listening on {}:{}", grpc.host, grpc_port_);
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
  s.listeners.push_back({"grpc", ParseHostPort(config_.grpc_listen, "grpc_listen").host,
                         grpc_port_});
  s.fds_used = OpenFiles();
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) s.fds_limit = lim.rlim_cur;
  return s;
}

admin::ClusterView Node::DescribeCluster() const {
  admin::ClusterView view;
  if (!member_) {  // a node alone: a cluster of one that it leads
    HostPort grpc = ParseHostPort(config_.grpc_listen, "grpc_listen");
    view.self = view.leader = 1;
    std::string host = grpc.host.find(':') == std::string::npos ? grpc.host : "[" + grpc.host + "]";
    view.members.push_back(
        {1, host + ":" + std::to_string(grpc_port_), config_.node_name, true, true});
    return view;
  }
  cluster::MemberView m = member_->Describe();
  view.self = m.self;
  view.leader = m.leader;
  view.term = m.term;
  for (const auto& p : m.members) {
    bool self = p.id == m.self;
    view.members.push_back(
        {p.id, p.address, self ? config_.node_name : std::string(), p.voter, self});
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
    others[i]->node_name = answers[i].node_name;
  }
}

uint16_t Node::amqp_port() const { return listener_ ? listener_->port() : 0; }

void Node::Run() { io_->run(); }

void Node::Stop() {
  if (admin_) admin_->Shutdown();
  asio::post(*io_, [this] {
    if (listener_) listener_->Shutdown();
    // Give connections a moment to receive connection.close, then stop.
    runtime_->ScheduleAfter(200, [this] { io_->stop(); });
  });
}

}  // namespace warren
