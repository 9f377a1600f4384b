#include "broker/cluster/member.h"

#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "broker/cluster/cluster_service.h"
#include "broker/cluster/forwarding.h"
#include "broker/cluster/membership.h"
#include "broker/cluster/metadata_snapshot.h"
#include "broker/cluster/metadata_machine.h"
#include "broker/cluster/mirror_guard.h"
#include "broker/cluster/mirror_planner.h"
#include "broker/cluster/raft_driver.h"
#include "broker/cluster/raft_gate.h"
#include "broker/cluster/raft_storage.h"
#include "broker/cluster/restart_metadata.h"
#include "broker/cluster/secret.h"
#include "broker/core/broker.h"
#include "broker/store/file_io.h"
#include "common/log.h"
#include "common/text.h"

namespace warren::cluster {

namespace {

// Raft messages to each member the configuration names, on a RaftSender
// each, made and dropped as members come and go.
// The node names members answered handshakes with, for members whose
// configuration entry has none (seeds): written by the Raft senders'
// threads, read on the loop.
class NameBook {
 public:
  void Learn(raft::NodeId id, const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    names_[id] = name;
  }
  std::string Find(raft::NodeId id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = names_.find(id);
    return it == names_.end() ? std::string() : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<raft::NodeId, std::string> names_;
};

// What the gate forwards changes through: the member's own thread
// (ForwardThread) until the node offers a stream (Member::ForwardThrough).
class ChosenForwarder final : public Forwarder {
 public:
  explicit ChosenForwarder(Forwarder& fallback) : fallback_(fallback) {}
  void Use(Forwarder* chosen) { chosen_ = chosen; }
  void Forward(raft::NodeId leader, std::string command,
               std::function<void(ForwardResult)> done) override {
    (chosen_ ? *chosen_ : fallback_).Forward(leader, std::move(command), std::move(done));
  }
  void Renew(raft::NodeId leader, std::function<void(bool, uint64_t)> done) override {
    (chosen_ ? *chosen_ : fallback_).Renew(leader, std::move(done));
  }

 private:
  Forwarder& fallback_;
  Forwarder* chosen_ = nullptr;
};

class PeerTransport final : public Transport {
 public:
  PeerTransport(const Secret& secret, std::string node_name, std::shared_ptr<NameBook> names)
      : secret_(secret), node_name_(std::move(node_name)), names_(std::move(names)) {}

  // The other members' gRPC addresses, by id: a link to each, kept while
  // its address stays the same.
  void Update(const std::map<raft::NodeId, std::string>& peers) {
    std::map<raft::NodeId, Link> next;
    for (const auto& [id, address] : peers) {
      auto it = links_.find(id);
      if (it != links_.end() && it->second.address == address) {
        next[id] = std::move(it->second);
      } else {
        auto learned = [names = names_, id = id](const std::string& name) {
          if (!name.empty() && name.size() <= 255) names->Learn(id, name);  // as Hello bounds it
        };
        next[id] = Link{address,
                        std::make_unique<RaftSender>(address, secret_, node_name_, learned)};
      }
    }
    links_ = std::move(next);
  }
  void Send(raft::NodeId to, std::string bytes) override {
    if (auto it = links_.find(to); it != links_.end()) it->second.sender->Send(std::move(bytes));
  }

 private:
  struct Link {
    std::string address;
    std::unique_ptr<RaftSender> sender;
  };
  const Secret& secret_;
  const std::string node_name_;
  std::shared_ptr<NameBook> names_;
  std::map<raft::NodeId, Link> links_;
};

// Forwarded changes go to the leader from a thread of its own, one at a
// time, because PeerClient's calls block and the loop must not. The answer
// is posted back to the loop. At most kMaxQueued wait: beyond that a change
// is answered not committed at once (a leader that slow has a backlog the
// client should not join).
class ForwardThread final : public Forwarder {
 public:
  static constexpr size_t kMaxQueued = 1024;

  ForwardThread(const Secret& secret, std::string self,
                std::function<void(std::function<void()>)> post)
      : secret_(secret), self_(std::move(self)), post_(std::move(post)),
        thread_([this] { Run(); }) {}
  ~ForwardThread() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // The other members' gRPC addresses, from each new configuration.
  void SetAddresses(std::map<raft::NodeId, std::string> addresses) {
    std::lock_guard<std::mutex> lock(mu_);
    addresses_ = std::move(addresses);
  }

  void Forward(raft::NodeId leader, std::string command,
               std::function<void(ForwardResult)> done) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (queue_.size() >= kMaxQueued) {
      lock.unlock();
      done(NotCommitted(leader, "too many changes are already on their way to it"));
      return;
    }
    queue_.push_back({leader, std::move(command), std::move(done)});
    cv_.notify_one();
  }

 private:
  struct Job {
    raft::NodeId leader;
    std::string command;
    std::function<void(ForwardResult)> done;
  };

  static ForwardResult NotCommitted(raft::NodeId leader, const std::string& why) {
    ForwardResult r;
    r.outcome.status =
        cluster::NotCommitted("the leader (node " + std::to_string(leader) + ") " + why + "; retry");
    return r;
  }

  void Run() {
    for (;;) {
      Job job;
      std::string address;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        job = std::move(queue_.front());
        queue_.pop_front();
        if (auto it = addresses_.find(job.leader); it != addresses_.end()) address = it->second;
      }
      ForwardResult result;
      if (address.empty()) {
        result = NotCommitted(job.leader, "has no address in the configuration");
      } else {
        auto& client = clients_[job.leader];
        if (!client || client->address != address)
          client = std::make_unique<Client>(address, secret_, self_);
        grpc::Status s = client->peer.Propose(job.command, result);
        if (!s.ok()) {
          result = NotCommitted(job.leader, "could not be reached: " + s.error_message());
          // No connection: nothing was sent. A deadline may have passed
          // after the leader took it, so that is not sent again.
          result.unreached = s.error_code() == grpc::StatusCode::UNAVAILABLE;
        }
      }
      post_([done = std::move(job.done), result = std::move(result)] { done(result); });
    }
  }

  struct Client {
    Client(const std::string& a, const Secret& secret, const std::string& self)
        : address(a), peer(a, secret, self) {}
    std::string address;
    PeerClient peer;
  };

  const Secret& secret_;
  const std::string self_;
  const std::function<void(std::function<void()>)> post_;
  std::map<raft::NodeId, std::unique_ptr<Client>> clients_;  // the thread's own
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::map<raft::NodeId, std::string> addresses_;
  bool stopping_ = false;
  std::thread thread_;
};

bool IsEmpty(const raft::Persisted& p) {
  return p.hard_state.term == 0 && p.entries.empty() && p.snapshot.meta.index == 0;
}

std::string ClusterDir(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "cluster").string();
}

std::string MemberFile(const std::string& data_dir) { return ClusterDir(data_dir) + "/member"; }

// DATA_DIR/cluster/member, written when the member first starts (or
// join_cluster enrols it):
//   id N                  this node's member id
//   peer ID ADDRESS...    (join_cluster) a member to reach until the leader's
//                         first message brings the configuration
// A restart with seeds that number this node otherwise is refused: its
// votes and log were cast as member N.
constexpr size_t kMaxMemberFile = 64 * 1024;

struct MemberRecord {
  raft::NodeId id = raft::kNoNode;  // none: no file
  std::map<raft::NodeId, std::string> peers;
};

Result<MemberRecord> ReadMember(const std::string& path) {
  MemberRecord out;
  std::ifstream f(path, std::ios::binary);
  if (!f) return out;
  std::string text(kMaxMemberFile + 1, '\0');
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(f.gcount()));
  Error bad{0, path + ": not a member file (\"id N\" then \"peer ID ADDRESS\" lines); refusing "
               "to start (docs/cluster.md)"};
  if (text.size() > kMaxMemberFile || text.empty() || text.back() != '\n') return bad;
  // "KEYWORD N" then, for a peer, " ADDRESS": N a decimal id above 0.
  auto parse = [](std::string_view line, std::string_view keyword, raft::NodeId& id,
                  std::string_view& rest) {
    if (line.substr(0, keyword.size() + 1) != std::string(keyword) + " ") return false;
    line.remove_prefix(keyword.size() + 1);
    auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), id);
    if (ec != std::errc() || id == raft::kNoNode || end == line.data()) return false;
    rest = line.substr(static_cast<size_t>(end - line.data()));
    return true;
  };
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    std::string_view line(text.data() + at, end - at);
    at = end + 1;
    raft::NodeId id = raft::kNoNode;
    std::string_view rest;
    if (out.id == raft::kNoNode) {
      if (!parse(line, "id", id, rest) || !rest.empty()) return bad;
      out.id = id;
    } else {
      if (!parse(line, "peer", id, rest) || rest.size() < 2 || rest[0] != ' ' ||
          rest.size() - 1 > raft::kMaxAddressBytes)
        return bad;
      out.peers[id] = std::string(rest.substr(1));
    }
  }
  return out;
}

Result<raft::NodeId> ReadMemberId(const std::string& path) {
  Result<MemberRecord> r = ReadMember(path);
  if (!r.ok()) return r.error();
  return r->id;
}

Status WriteMember(const std::string& data_dir, const MemberRecord& record) {
  std::error_code ec;
  std::filesystem::create_directories(ClusterDir(data_dir), ec);
  if (ec) return Error{0, ClusterDir(data_dir) + ": " + ec.message()};
  std::string text = "id " + std::to_string(record.id) + "\n";
  for (const auto& [id, address] : record.peers) {
    if (address.find('\n') != std::string::npos) continue;
    text += "peer " + std::to_string(id) + " " + address + "\n";
  }
  return store::ReplaceFile(store::FileSystem::Default(), MemberFile(data_dir), text);
}

Status WriteMemberId(const std::string& data_dir, raft::NodeId id) {
  return WriteMember(data_dir, MemberRecord{id, {}});
}

// How long a change of members waits for a leader that can take it (an
// election, or a new leader's first commit), polling every kMembersPollMs.
constexpr int64_t kMembersWaitMs = 5000;
constexpr int64_t kMembersPollMs = 50;

}  // namespace

struct Member::Parts {
  raft::NodeId id = raft::kNoNode;
  std::unique_ptr<RaftStorage> storage;
  std::unique_ptr<MetadataMachine> machine;
  std::shared_ptr<NameBook> names = std::make_shared<NameBook>();
  std::unique_ptr<PeerTransport> transport;
  std::unique_ptr<ForwardThread> forwarder;
  std::unique_ptr<ChosenForwarder> chosen;
  std::unique_ptr<RaftDriver> driver;
  std::unique_ptr<RaftGate> gate;
  core::Broker* broker = nullptr;
  Runtime* runtime = nullptr;
  bool promoting = false;  // a learner's promotion is proposed
  // Holds, leases and failovers of the mirrored queues (mirror_guard.h).
  std::unique_ptr<MirrorGuard> guard;
  // Changes this member makes of itself once it runs (Member::ProposeOwn).
  // Shared with their answers, which may come while the parts go.
  struct Own {
    std::deque<std::pair<core::Command, std::string>> changes;  // with what it is
    bool proposing = false;
  };
  std::shared_ptr<Own> own = std::make_shared<Own>();
  // Expires before the gate and the driver go (declared after them).
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  // From the member file: the members to reach until the first
  // configuration arrives (a node join_cluster enrolled: the leader's first
  // message finds it, and its answers must find the leader).
  std::map<raft::NodeId, std::string> introductions;
  std::shared_ptr<KnownIds> known = std::make_shared<KnownIds>();
  bool was_member = false;  // this node was in a configuration seen
  // Changes of members waiting for a leader that can take them.
  struct Waiting {
    MembersChange change;
    std::function<void(MembersResult)> reply;
    int64_t deadline_ms = 0;
    TimerId timer = 0;
  };
  std::map<uint64_t, Waiting> waiting;
  uint64_t last_waiting = 0;

  // The other members' gRPC addresses, by id: from `config`, or from the
  // introductions while no configuration has come yet.
  std::map<raft::NodeId, std::string> PeersIn(const raft::Configuration& config) const;
  void OnConfig(const raft::Configuration& config);
  void OnTick();
  // Tries `w` now; false when it must wait (no leader able to take it yet).
  bool TryChange(Waiting& w);
  void Retry(uint64_t key);
  // Proposes `change`: false when the leader refused it at once (it cannot
  // take a change yet), else `then` runs once it is answered.
  bool ProposeChange(raft::MembershipChange change, std::function<void(Status)> then);
  // The leader, once member `gone` was removed: its queues are deleted
  // through the log; `then` once every delete was answered.
  void ForgetQueuesOf(uint64_t gone, std::function<void()> then);
  // Proposes the first of `own`, if none is proposed now.
  void ProposeOwn();
  // The leader, each tick: the transient queues of a member silent for
  // kSilentMemberMs are deleted through the log, once per silence.
  void DropTransientQueuesOfSilent();
  std::set<raft::NodeId> silent;  // members whose silence was acted on
  std::string node_name;  // this node's
  std::unique_ptr<MirrorPlanner> planner;
  // Every member of the configuration with its node name, for placement.
  std::vector<core::MemberName> MemberNames() const;
};

Result<std::unique_ptr<Member>> Member::Build(const MemberOptions& o, raft::NodeId self,
                                              raft::Persisted persisted, bool restart,
                                              const Secret& secret, Runtime& runtime,
                                              core::Broker& broker,
                                              std::unique_ptr<RaftStorage> storage) {
  auto parts = std::make_unique<Parts>();
  parts->id = self;
  parts->broker = &broker;
  // Before anything is applied: a queue declared for this member is homed here.
  broker.set_self_member(self);
  parts->runtime = &runtime;
  parts->storage = std::move(storage);
  parts->machine = std::make_unique<MetadataMachine>(broker);
  // A restart: the broker came back from the store with every entry it had
  // applied (docs/cluster.md, "A member's restart").
  uint64_t applied = broker.persistence() ? broker.persistence()->metadata_applied() : 0;
  if (restart) {
    TransientRestore rebuilt = RestoreTransient(broker, persisted, applied, self);
    if (rebuilt.exchanges + rebuilt.records + rebuilt.bindings + rebuilt.lost.size() > 0)
      spdlog::info("cluster: rebuilt from the log {} transient exchanges, {} records of other "
                   "members' transient queues and {} bindings; {} transient queues of this "
                   "member lost their messages and are deleted",
                   rebuilt.exchanges, rebuilt.records, rebuilt.bindings, rebuilt.lost.size());
    for (core::cmd::DeleteQueue& d : rebuilt.lost) {
      std::string what = "the delete of transient queue '" + d.name + "' in vhost '" + d.vhost + "'";
      parts->own->changes.emplace_back(std::move(d), std::move(what));
    }
    parts->machine->SkipThrough(applied);
  }
  parts->transport = std::make_unique<PeerTransport>(secret, o.node_name, parts->names);
  parts->introductions = o.introductions;
  parts->forwarder = std::make_unique<ForwardThread>(secret, o.node_name, o.post);
  parts->chosen = std::make_unique<ChosenForwarder>(*parts->forwarder);
  DriverOptions d;
  d.raft.id = self;
  RAND_bytes(reinterpret_cast<unsigned char*>(&d.raft.seed), sizeof d.raft.seed);
  d.on_fatal = o.on_fatal;
  Parts* p = parts.get();
  d.on_config = [p](const raft::Configuration& config) { p->OnConfig(config); };
  d.on_tick = [p] { p->OnTick(); };
  parts->driver = std::make_unique<RaftDriver>(runtime, *parts->storage, *parts->transport,
                                               *parts->machine, d, std::move(persisted));
  parts->gate = std::make_unique<RaftGate>(runtime, *parts->driver, *parts->machine,
                                           *parts->chosen, d.proposal_timeout_ms);
  parts->node_name = o.node_name;
  parts->planner = std::make_unique<MirrorPlanner>(broker, *parts->gate);
  MirrorGuard::Links links;
  links.renew = [p](raft::NodeId leader, std::function<void(bool, uint64_t)> granted) {
    p->chosen->Renew(leader, std::move(granted));
  };
  links.members = [p] { return p->MemberNames(); };
  parts->guard = std::make_unique<MirrorGuard>(broker, runtime, parts->driver->raft(),
                                               *parts->gate, self, d.tick_ms, std::move(links));
  // Before the loop runs anything: no stale copy is given out meanwhile.
  if (restart) parts->guard->HoldUntilCaughtUp();
  spdlog::info("cluster: this node is member {}, the Raft log is in {}{}", self,
               parts->storage->path(),
               restart ? ", restarted with the metadata applied through entry " +
                             std::to_string(applied)
                       : "");
  return std::unique_ptr<Member>(new Member(std::move(parts)));
}

Result<std::unique_ptr<Member>> Member::Join(MemberOptions o, const Secret& secret,
                                             Runtime& runtime, core::Broker& broker) {
  std::vector<std::string> seeds = o.seeds;
  std::sort(seeds.begin(), seeds.end());
  seeds.erase(std::unique(seeds.begin(), seeds.end()), seeds.end());
  raft::Configuration first;
  for (size_t i = 0; i < seeds.size(); ++i) {
    first.voters.push_back(i + 1);
    first.addresses[i + 1] = EncodeMemberAddress({seeds[i], ""});
  }
  // Which seed is this node: the one whose Ping answers with our name. The
  // name a seed gives this node may not resolve yet when it starts (a pod's
  // DNS record is published a moment after the pod), so the seeds are asked
  // again for a while before the node gives up.
  raft::NodeId self = raft::kNoNode;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.find_self_ms);
  for (bool first_round = true; self == raft::kNoNode; first_round = false) {
    for (size_t i = 0; i < seeds.size() && self == raft::kNoNode; ++i) {
      PeerClient client(seeds[i], secret, o.node_name, o.ping_timeout_ms);
      std::string name;
      if (client.Ping(name).ok() && name == o.node_name) self = i + 1;
    }
    if (self != raft::kNoNode) break;
    if (std::chrono::steady_clock::now() >= deadline)
      return Error{0, "cluster_seeds: none of them is this node (" + o.node_name +
                          "): list this node's own gRPC address among them"};
    if (first_round)
      spdlog::warn("cluster: no seed answers as this node ({}) yet; asking again for up to {} s",
                   LogSafe(o.node_name), o.find_self_ms / 1000);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  // Entry 1 must be the same bytes on every seed: no names, which each
  // seed knows only of itself (cluster_status learns them by Ping).

  auto storage = std::make_unique<RaftStorage>(store::FileSystem::Default(), ClusterDir(o.data_dir));
  Result<raft::Persisted> persisted = storage->Open();
  if (!persisted.ok()) return persisted.error();
  Result<raft::NodeId> recorded = ReadMemberId(MemberFile(o.data_dir));
  if (!recorded.ok()) return recorded.error();
  bool restart = !IsEmpty(persisted.value());
  if (restart && recorded.value() != self)
    return Error{0, "cluster: this node was member " + std::to_string(recorded.value()) +
                        " and the seeds now make it member " + std::to_string(self) +
                        ": give it the seeds it started with (docs/cluster.md)"};
  if (!restart) {
    persisted = storage->Bootstrap(raft::Persisted::Bootstrap(first));
    if (!persisted.ok()) return persisted.error();
    if (Status s = WriteMemberId(o.data_dir, self); !s.ok()) return s.error();
  }
  spdlog::info("cluster: the seeds make this node member {} of {} ({})", self, seeds.size(),
               seeds[self - 1]);
  return Build(o, self, std::move(persisted.value()), restart, secret, runtime, broker,
               std::move(storage));
}

Result<std::unique_ptr<Member>> Member::Found(MemberOptions o, const Secret& secret,
                                              Runtime& runtime, core::Broker& broker) {
  Result<raft::NodeId> recorded = ReadMemberId(MemberFile(o.data_dir));
  if (!recorded.ok()) return recorded.error();
  if (recorded.value() != raft::kNoNode)
    return Error{0, "cluster: this node is already member " + std::to_string(recorded.value()) +
                        " of a cluster"};
  auto storage = std::make_unique<RaftStorage>(store::FileSystem::Default(), ClusterDir(o.data_dir));
  Result<raft::Persisted> opened = storage->Open();
  if (!opened.ok()) return opened.error();
  if (!IsEmpty(opened.value()))
    return Error{0, "cluster: " + storage->path() + " holds a Raft log but no member file"};
  // The group starts from a snapshot of this node's metadata, so a node
  // that joins is given all of it (entry 1 is inside the snapshot).
  raft::Persisted first;
  first.hard_state.term = 1;
  first.snapshot.meta.index = 1;
  first.snapshot.meta.term = 1;
  first.snapshot.meta.config.voters = {1};
  first.snapshot.meta.config.highest = 1;
  first.snapshot.meta.config.addresses[1] = EncodeMemberAddress({o.address, o.node_name});
  broker.set_self_member(1);  // the home of every queue it has
  first.snapshot.data = EncodeSnapshot(DescribeMetadata(broker));
  Result<raft::Persisted> persisted = storage->Bootstrap(std::move(first));
  if (!persisted.ok()) return persisted.error();
  if (Status s = WriteMemberId(o.data_dir, 1); !s.ok()) return s.error();
  spdlog::info("cluster: this node founds a cluster as member 1 ({})", o.address);
  return Build(o, 1, std::move(persisted.value()), false, secret, runtime, broker,
               std::move(storage));
}

Result<std::unique_ptr<Member>> Member::Resume(MemberOptions o, const Secret& secret,
                                               Runtime& runtime, core::Broker& broker) {
  Result<MemberRecord> recorded = ReadMember(MemberFile(o.data_dir));
  if (!recorded.ok()) return recorded.error();
  if (recorded->id == raft::kNoNode)
    return Error{0, "cluster: this node is a member of no cluster"};
  o.introductions = recorded->peers;
  auto storage = std::make_unique<RaftStorage>(store::FileSystem::Default(), ClusterDir(o.data_dir));
  Result<raft::Persisted> persisted = storage->Open();
  if (!persisted.ok()) return persisted.error();
  bool restart = !IsEmpty(persisted.value());
  return Build(o, recorded->id, std::move(persisted.value()), restart, secret, runtime, broker,
               std::move(storage));
}

Result<uint64_t> Member::RecordedId(const std::string& data_dir) {
  Result<raft::NodeId> id = ReadMemberId(MemberFile(data_dir));
  if (!id.ok()) return id.error();
  return uint64_t{id.value()};
}

Result<Member::Record> Member::Recorded(const std::string& data_dir) {
  Result<MemberRecord> r = ReadMember(MemberFile(data_dir));
  if (!r.ok()) return r.error();
  Record out{r->id, {}};
  for (const auto& [id, value] : r->peers) out.peers.push_back(DecodeMemberAddress(value).grpc);
  return out;
}

Status Member::Enrol(const std::string& data_dir, uint64_t id,
                     const std::map<uint64_t, std::string>& members) {
  if (Status s = Erase(data_dir); !s.ok()) return s;
  MemberRecord record{id, {}};
  for (const auto& [member, address] : members)
    if (member != id) record.peers[member] = address;
  return WriteMember(data_dir, record);
}

Status Member::Erase(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::remove_all(ClusterDir(data_dir), ec);
  if (ec) return Error{0, ClusterDir(data_dir) + ": " + ec.message()};
  return Status::Ok();
}

Member::Member(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Member::~Member() {
  if (!parts_) return;
  parts_->broker->set_metadata_gate(nullptr);
  parts_->broker->set_self_member(0);
  for (auto& [key, w] : parts_->waiting) {
    parts_->runtime->Cancel(w.timer);
    MembersResult r;
    r.status = Error{503, "the node is stopping"};
    w.reply(r);
  }
  parts_->waiting.clear();
  // The order RaftGate asks for: the gate answers what it holds, then the
  // driver, the links and the machine go.
  parts_->planner.reset();
  parts_->gate.reset();
  parts_->driver.reset();
  parts_->chosen.reset();
  parts_->forwarder.reset();
  parts_->transport.reset();
  parts_->machine.reset();
}

void Member::ForwardThrough(Forwarder* forwarder) { parts_->chosen->Use(forwarder); }

void Member::Start() {
  parts_->broker->set_connection_id_base(uint64_t{parts_->id} << 48);
  parts_->broker->set_metadata_gate(parts_->gate.get());
  parts_->OnConfig(parts_->driver->raft().config());
  parts_->driver->Start();
}

std::map<raft::NodeId, std::string> Member::Parts::PeersIn(
    const raft::Configuration& config) const {
  bool none = config.voters.empty() && config.learners.empty();
  std::map<raft::NodeId, std::string> out;
  for (const auto& [member, value] : none ? introductions : config.addresses)
    if (member != id) out[member] = DecodeMemberAddress(value).grpc;
  return out;
}

void Member::Parts::OnConfig(const raft::Configuration& config) {
  std::vector<uint64_t> members = config.voters;
  members.insert(members.end(), config.learners.begin(), config.learners.end());
  known->Set(std::move(members));
  std::map<raft::NodeId, std::string> peers = PeersIn(config);
  transport->Update(peers);
  forwarder->SetAddresses(std::move(peers));
  if (config.Contains(id)) {
    was_member = true;
  } else if (was_member) {
    was_member = false;
    spdlog::warn("cluster: this node (member {}) is no longer a member of the cluster: it was "
                 "forgotten; reset it before it joins again",
                 id);
  }
}

void Member::Parts::DropTransientQueuesOfSilent() {
  if (driver->raft().role() != raft::Role::kLeader) {
    silent.clear();  // the next leader decides afresh
    return;
  }
  for (const auto& [member, quiet] : guard->Silence(kSilentMemberMs)) {
    raft::NodeId m = member;  // captured below (a structured binding cannot be)
    if (!quiet) {
      silent.erase(m);
      continue;
    }
    if (!silent.insert(m).second) continue;  // acted on already
    // As RabbitMQ deletes a node's non-durable and exclusive queues when the
    // node goes down: their messages went with it, and clients that declare
    // them again through another node get new ones there.
    size_t before = own->changes.size();
    ForEachQueueHomedOn(*broker, m, [&](const std::string& vhost, const core::Queue& q) {
      if (q.durable() && q.exclusive_owner() == 0) return;
      own->changes.emplace_back(
          core::cmd::DeleteQueue{vhost, q.name(), false, false, q.exclusive_owner(), m},
          "the delete of transient queue '" + q.name() + "' in vhost '" + vhost +
              "' of silent member " + std::to_string(m));
    });
    if (own->changes.size() > before)
      spdlog::info("cluster: member {} has not answered for {} s: deleting its {} transient "
                   "queues",
                   m, kSilentMemberMs / 1000, own->changes.size() - before);
  }
}

// Also the leader's: it makes a learner that has caught up a voter, one at a
// time.
void Member::Parts::OnTick() {
  guard->Tick();
  DropTransientQueuesOfSilent();
  ProposeOwn();
  const raft::Raft& raft = driver->raft();
  if (raft.role() == raft::Role::kLeader) planner->Plan(MemberNames(), raft.log().applied());
  else planner->Forget();
  if (promoting || raft.role() != raft::Role::kLeader) return;
  for (raft::NodeId learner : raft.config().learners) {
    if (raft.MatchIndex(learner).value_or(0) < raft.commit_index()) continue;
    promoting = true;
    driver->ProposeMembership({raft::MembershipChange::Kind::kPromote, learner},
                              [this, learner](Status s, raft::Proposal) {
                                promoting = false;
                                if (s.ok())
                                  spdlog::info("cluster: member {} has caught up and now votes",
                                               learner);
                              });
    return;
  }
}

std::vector<core::MemberName> Member::Parts::MemberNames() const {
  const raft::Configuration& config = driver->raft().config();
  std::vector<core::MemberName> out;
  for (const std::vector<raft::NodeId>* ids : {&config.voters, &config.learners}) {
    for (raft::NodeId id : *ids) {
      auto known = config.addresses.find(id);
      std::string name =
          known == config.addresses.end() ? "" : DecodeMemberAddress(known->second).node;
      if (name.empty()) name = id == this->id ? node_name : names->Find(id);
      out.push_back({id, std::move(name)});
    }
  }
  return out;
}

uint64_t Member::id() const { return parts_->id; }

core::MetadataGate& Member::gate() { return *parts_->gate; }

void Member::ProposeOwn(std::vector<std::pair<core::Command, std::string>> changes) {
  for (auto& c : changes) parts_->own->changes.push_back(std::move(c));
  parts_->ProposeOwn();
}

void Member::Receive(const std::vector<std::string>& messages) {
  parts_->driver->Receive(messages);
}

std::optional<uint64_t> Member::GrantLease(const std::string& node) {
  return parts_->guard->GrantLease(node);
}

void Member::ProposeForPeer(std::string command, std::function<void(ForwardResult)> reply) {
  parts_->gate->ProposeForPeer(std::move(command), std::move(reply));
}

void Member::ChangeMembers(MembersChange change, std::function<void(MembersResult)> reply) {
  uint64_t key = ++parts_->last_waiting;
  Parts::Waiting& w = parts_->waiting[key];
  w.change = std::move(change);
  w.reply = std::move(reply);
  w.deadline_ms = parts_->runtime->NowMs() + kMembersWaitMs;
  parts_->Retry(key);
}

void Member::Parts::Retry(uint64_t key) {
  auto it = waiting.find(key);
  if (it == waiting.end()) return;
  if (!TryChange(it->second)) {
    if (runtime->NowMs() < it->second.deadline_ms) {
      it->second.timer = runtime->ScheduleAfter(kMembersPollMs, [this, key] { Retry(key); });
      return;
    }
    MembersResult late;
    late.status = Error{503, "no leader took the change within " +
                                 std::to_string(kMembersWaitMs / 1000) +
                                 " s (no majority of the cluster answers)"};
    it->second.reply(late);
  }
  waiting.erase(key);
}

bool Member::Parts::TryChange(Waiting& w) {
  const raft::Raft& raft = driver->raft();
  const raft::Configuration& config = raft.config();
  MembersResult r;
  if (raft.role() != raft::Role::kLeader) {
    raft::NodeId leader = raft.leader();
    auto known = config.addresses.find(leader);
    if (leader == raft::kNoNode || known == config.addresses.end()) return false;
    r.status = Error{421, "this node does not lead the cluster"};
    r.leader = DecodeMemberAddress(known->second).grpc;
    w.reply(r);
    return true;
  }
  const std::function<void(MembersResult)>& done = w.reply;
  if (w.change.kind == MembersChange::Kind::kAdd) {
    for (const auto& [member, value] : config.addresses) {
      if (DecodeMemberAddress(value).grpc != w.change.address) continue;
      if (member == w.change.id) {
        r.id = member;
        r.already_member = true;
      } else {
        r.status = Error{409, w.change.address + " is already member " + std::to_string(member) +
                                  " of this cluster: forget_cluster_node it first"};
      }
      done(r);
      return true;
    }
    raft::NodeId id_for = config.NextId();
    MemberAddress address{w.change.address, w.change.node};
    return ProposeChange({raft::MembershipChange::Kind::kAddLearner, id_for,
                          EncodeMemberAddress(address)},
                         [this, done, id_for, address](Status s) {
                           MembersResult r;
                           r.status = s;
                           r.id = s.ok() ? id_for : 0;
                           if (s.ok()) r.members = driver->raft().config().addresses;
                           if (s.ok())
                             spdlog::info("cluster: {} ({}) joined as member {}", address.node,
                                          address.grpc, id_for);
                           done(r);
                         });
  }
  if (!config.Contains(w.change.id)) {
    r.status = Error{404, "member " + std::to_string(w.change.id) + " is not in the cluster"};
    done(r);
    return true;
  }
  uint64_t gone = w.change.id;
  return ProposeChange({raft::MembershipChange::Kind::kRemove, gone}, [this, done, gone](Status s) {
    MembersResult r;
    r.status = s;
    if (!s.ok()) {
      done(r);
      return;
    }
    spdlog::info("cluster: member {} was removed", gone);
    ForgetQueuesOf(gone, [done, r] { done(r); });
  });
}

void Member::Parts::ForgetQueuesOf(uint64_t gone, std::function<void()> then) {
  // As RabbitMQ forgets a removed node's classic queues: their messages
  // left with it, and a record that routes to no one would hide that.
  std::vector<core::cmd::DeleteQueue> deletes;
  ForEachQueueHomedOn(*broker, gone, [&](const std::string& vhost, const core::Queue& q) {
    deletes.push_back({vhost, q.name(), false, false, q.exclusive_owner()});
  });
  if (deletes.empty()) {
    then();
    return;
  }
  spdlog::info("cluster: deleting the {} queues homed on member {}", deletes.size(), gone);
  // The change is answered once every delete was.
  auto left = std::make_shared<size_t>(deletes.size());
  for (core::cmd::DeleteQueue& d : deletes) {
    std::string what = "queue '" + d.name + "' in vhost '" + d.vhost + "'";
    gate->Submit(std::move(d), [what, left, then](const core::Outcome& o) {
      if (!o.status.ok() && o.status.error().code != 404)
        spdlog::warn("cluster: could not delete {} of a removed member: {}", LogSafe(what),
                     LogSafe(o.status.error().text));
      if (--*left == 0) then();
    });
  }
}

void Member::Parts::ProposeOwn() {
  if (own->proposing || own->changes.empty()) return;
  own->proposing = true;
  std::weak_ptr<bool> live = alive;
  gate->Submit(own->changes.front().first, [this, state = own, live](const core::Outcome& o) {
    state->proposing = false;
    if (!o.status.ok() && o.status.error().code == kNotCommitted)
      return;  // no leader took it: again at the next tick
    // 404: a delete this node's own apply found nothing for (a lost queue
    // it never rebuilt), while the others deleted their records.
    if (!o.status.ok() && o.status.error().code != 404)
      spdlog::warn("cluster: {} was refused: {}", LogSafe(state->changes.front().second),
                   LogSafe(o.status.error().text, 1024));
    state->changes.pop_front();
    if (live.expired()) return;
    runtime->ScheduleAfter(0, [this, live] {
      if (!live.expired()) ProposeOwn();
    });
  });
}

bool Member::Parts::ProposeChange(raft::MembershipChange change, std::function<void(Status)> then) {
  auto refused = std::make_shared<bool>(false);
  driver->ProposeMembership(std::move(change), [refused, then](Status s, raft::Proposal at) {
    if (at.index == 0 && !s.ok()) {
      *refused = true;  // before it had an index: tried again while the wait lasts
      return;
    }
    then(s);
  });
  return !*refused;
}

std::map<uint64_t, std::string> Member::Peers() const {
  return parts_->PeersIn(parts_->driver->raft().config());
}

bool KnownIds::Contains(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::find(ids_.begin(), ids_.end(), id) != ids_.end();
}

void KnownIds::Set(std::vector<uint64_t> ids) {
  std::lock_guard<std::mutex> lock(mu_);
  ids_ = std::move(ids);
}

std::shared_ptr<const KnownIds> Member::known_ids() const { return parts_->known; }

MemberView Member::Describe() const {
  const raft::Raft& raft = parts_->driver->raft();
  const raft::Configuration& config = raft.config();
  MemberView view;
  view.self = parts_->id;
  view.leader = raft.leader();
  view.term = raft.term();
  auto add = [&](raft::NodeId id, bool voter) {
    auto known = config.addresses.find(id);
    MemberAddress a = known == config.addresses.end() ? MemberAddress{}
                                                      : DecodeMemberAddress(known->second);
    if (a.node.empty()) a.node = parts_->names->Find(id);
    view.members.push_back({id, a.grpc, a.node, voter});
  };
  for (raft::NodeId id : config.voters) add(id, true);
  for (raft::NodeId id : config.learners) add(id, false);
  std::sort(view.members.begin(), view.members.end(),
            [](const MemberView::Peer& a, const MemberView::Peer& b) { return a.id < b.id; });
  return view;
}

std::vector<std::string> Member::Addresses() const {
  const raft::Raft& raft = parts_->driver->raft();
  std::vector<std::string> out;
  for (const auto& [id, value] : raft.config().addresses) {
    std::string address = DecodeMemberAddress(value).grpc;
    if (id == raft.leader())
      out.insert(out.begin(), address);
    else
      out.push_back(address);
  }
  return out;
}

}  // namespace warren::cluster
