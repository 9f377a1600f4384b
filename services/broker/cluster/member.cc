#include "broker/cluster/member.h"

#include <openssl/rand.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "broker/cluster/cluster_service.h"
#include "broker/cluster/forwarding.h"
#include "broker/cluster/metadata_machine.h"
#include "broker/cluster/raft_driver.h"
#include "broker/cluster/raft_gate.h"
#include "broker/cluster/raft_storage.h"
#include "broker/cluster/secret.h"
#include "broker/core/broker.h"
#include "broker/store/file_io.h"
#include "common/log.h"

namespace warren::cluster {

namespace {

// Raft messages to each peer, on the peer's RaftSender.
class PeerTransport final : public Transport {
 public:
  void Add(raft::NodeId id, std::unique_ptr<RaftSender> sender) {
    senders_[id] = std::move(sender);
  }
  void Send(raft::NodeId to, std::string bytes) override {
    if (auto it = senders_.find(to); it != senders_.end()) it->second->Send(std::move(bytes));
  }

 private:
  std::map<raft::NodeId, std::unique_ptr<RaftSender>> senders_;
};

// Forwarded changes go to the leader from a thread of its own, one at a
// time, because PeerClient's calls block and the loop must not. The answer
// is posted back to the loop. At most kMaxQueued wait: beyond that a change
// is answered not committed at once (a leader that slow has a backlog the
// client should not join).
class ForwardThread final : public Forwarder {
 public:
  static constexpr size_t kMaxQueued = 1024;

  ForwardThread(std::map<raft::NodeId, std::string> addresses, const Secret& secret,
                std::string self, std::function<void(std::function<void()>)> post)
      : addresses_(std::move(addresses)), secret_(secret), self_(std::move(self)),
        post_(std::move(post)), thread_([this] { Run(); }) {}
  ~ForwardThread() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
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
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      ForwardResult result;
      auto address = addresses_.find(job.leader);
      if (address == addresses_.end()) {
        result = NotCommitted(job.leader, "is not one of the seeds");
      } else {
        auto& client = clients_[job.leader];
        if (!client) client = std::make_unique<PeerClient>(address->second, secret_, self_);
        grpc::Status s = client->Propose(job.command, result);
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

  const std::map<raft::NodeId, std::string> addresses_;
  const Secret& secret_;
  const std::string self_;
  const std::function<void(std::function<void()>)> post_;
  std::map<raft::NodeId, std::unique_ptr<PeerClient>> clients_;  // the thread's own
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

bool IsEmpty(const raft::Persisted& p) {
  return p.hard_state.term == 0 && p.entries.empty() && p.snapshot.meta.index == 0;
}

// DATA_DIR/cluster/member: "id N\n", written when the member first starts.
// A restart with seeds that number this node otherwise is refused: its
// votes and log were cast as member N.
constexpr size_t kMaxMemberFile = 64;

Result<raft::NodeId> ReadMemberId(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return raft::kNoNode;
  std::string text(kMaxMemberFile + 1, '\0');
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(f.gcount()));
  unsigned long long id = 0;
  char end = 0;
  if (text.size() > kMaxMemberFile || std::sscanf(text.c_str(), "id %llu%c", &id, &end) != 2 ||
      end != '\n' || id == 0)
    return Error{0, path + ": not a member file (\"id N\"); refusing to start (docs/cluster.md)"};
  return static_cast<raft::NodeId>(id);
}

}  // namespace

struct Member::Parts {
  raft::NodeId id = raft::kNoNode;
  std::unique_ptr<RaftStorage> storage;
  std::unique_ptr<MetadataMachine> machine;
  std::unique_ptr<PeerTransport> transport;
  std::unique_ptr<ForwardThread> forwarder;
  std::unique_ptr<RaftDriver> driver;
  std::unique_ptr<RaftGate> gate;
  core::Broker* broker = nullptr;
  std::map<raft::NodeId, std::string> addresses;  // every seed's, by member id
};

Result<std::unique_ptr<Member>> Member::Join(MemberOptions o, const Secret& secret,
                                             Runtime& runtime, core::Broker& broker) {
  std::vector<std::string> seeds = o.seeds;
  std::sort(seeds.begin(), seeds.end());
  seeds.erase(std::unique(seeds.begin(), seeds.end()), seeds.end());
  // Which seed is this node: the one whose Ping answers with our name.
  raft::NodeId self = raft::kNoNode;
  std::map<raft::NodeId, std::string> addresses;
  for (size_t i = 0; i < seeds.size(); ++i) {
    raft::NodeId id = i + 1;
    addresses[id] = seeds[i];
    if (self != raft::kNoNode) continue;
    PeerClient client(seeds[i], secret, o.node_name, o.ping_timeout_ms);
    std::string name;
    if (client.Ping(name).ok() && name == o.node_name) self = id;
  }
  if (self == raft::kNoNode)
    return Error{0, "cluster_seeds: none of them is this node (" + o.node_name +
                        "): list this node's own gRPC address among them"};

  auto parts = std::make_unique<Parts>();
  parts->id = self;
  parts->broker = &broker;
  parts->addresses = addresses;
  std::string dir = (std::filesystem::path(o.data_dir) / "cluster").string();
  parts->storage = std::make_unique<RaftStorage>(store::FileSystem::Default(), dir);
  Result<raft::Persisted> persisted = parts->storage->Open();
  if (!persisted.ok()) return persisted.error();
  const std::string member_file = dir + "/member";
  Result<raft::NodeId> recorded = ReadMemberId(member_file);
  if (!recorded.ok()) return recorded.error();
  bool restart = !IsEmpty(persisted.value());
  if (restart && recorded.value() != self)
    return Error{0, "cluster: this node was member " + std::to_string(recorded.value()) +
                        " and the seeds now make it member " + std::to_string(self) +
                        ": give it the seeds it started with (docs/cluster.md)"};
  if (!restart) {
    std::vector<raft::NodeId> voters;
    for (const auto& [id, address] : addresses) voters.push_back(id);
    persisted = parts->storage->Bootstrap(voters);
    if (!persisted.ok()) return persisted.error();
    if (Status s = store::ReplaceFile(store::FileSystem::Default(), member_file,
                                      "id " + std::to_string(self) + "\n");
        !s.ok())
      return s.error();
  }

  parts->machine = std::make_unique<MetadataMachine>(broker);
  // A restart: the broker came back from the store with every entry it had
  // applied (docs/cluster.md, "A member's restart").
  uint64_t applied = broker.persistence() ? broker.persistence()->metadata_applied() : 0;
  if (restart) parts->machine->SkipThrough(applied);
  parts->transport = std::make_unique<PeerTransport>();
  for (const auto& [id, address] : addresses)
    if (id != self)
      parts->transport->Add(id, std::make_unique<RaftSender>(address, secret, o.node_name));
  std::map<raft::NodeId, std::string> others = addresses;
  others.erase(self);
  parts->forwarder =
      std::make_unique<ForwardThread>(std::move(others), secret, o.node_name, o.post);
  DriverOptions d;
  d.raft.id = self;
  RAND_bytes(reinterpret_cast<unsigned char*>(&d.raft.seed), sizeof d.raft.seed);
  d.on_fatal = o.on_fatal;
  parts->driver = std::make_unique<RaftDriver>(runtime, *parts->storage, *parts->transport,
                                               *parts->machine, d, std::move(persisted.value()));
  parts->gate = std::make_unique<RaftGate>(runtime, *parts->driver, *parts->machine,
                                           *parts->forwarder, d.proposal_timeout_ms);
  spdlog::info("cluster: this node is member {} of {} ({}), the Raft log is in {}{}", self,
               seeds.size(), addresses[self], parts->storage->path(),
               restart ? ", restarted with the metadata applied through entry " +
                             std::to_string(applied)
                       : "");
  return std::unique_ptr<Member>(new Member(std::move(parts)));
}

Member::Member(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Member::~Member() {
  if (!parts_) return;
  parts_->broker->set_metadata_gate(nullptr);
  // The order RaftGate asks for: the gate answers what it holds, then the
  // driver, the links and the machine go.
  parts_->gate.reset();
  parts_->driver.reset();
  parts_->forwarder.reset();
  parts_->transport.reset();
  parts_->machine.reset();
}

void Member::Start() {
  parts_->broker->set_connection_id_base(uint64_t{parts_->id} << 48);
  parts_->broker->set_metadata_gate(parts_->gate.get());
  parts_->driver->Start();
}

uint64_t Member::id() const { return parts_->id; }

core::MetadataGate& Member::gate() { return *parts_->gate; }

void Member::Receive(std::string message) { parts_->driver->Receive(message); }

void Member::ProposeForPeer(std::string command, std::function<void(ForwardResult)> reply) {
  parts_->gate->ProposeForPeer(std::move(command), std::move(reply));
}

MemberView Member::Describe() const {
  const raft::Raft& raft = parts_->driver->raft();
  MemberView view;
  view.self = parts_->id;
  view.leader = raft.leader();
  view.term = raft.term();
  auto add = [&](raft::NodeId id, bool voter) {
    auto address = parts_->addresses.find(id);
    view.members.push_back(
        {id, address == parts_->addresses.end() ? std::string() : address->second, voter});
  };
  for (raft::NodeId id : raft.config().voters) add(id, true);
  for (raft::NodeId id : raft.config().learners) add(id, false);
  std::sort(view.members.begin(), view.members.end(),
            [](const MemberView::Peer& a, const MemberView::Peer& b) { return a.id < b.id; });
  return view;
}

}  // namespace warren::cluster
