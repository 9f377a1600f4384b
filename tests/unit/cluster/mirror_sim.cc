#include "mirror_sim.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "broker/cluster/forwarding.h"
#include "broker/cluster/metadata_machine.h"
#include "broker/cluster/mirror_copies.h"
#include "broker/cluster/mirror_guard.h"
#include "broker/cluster/mirror_link.h"
#include "broker/cluster/mirror_planner.h"
#include "broker/cluster/queue_replicator.h"
#include "broker/cluster/raft_driver.h"
#include "broker/cluster/raft_gate.h"
#include "broker/cluster/raft_storage.h"
#include "broker/cluster/restart_metadata.h"
#include "broker/core/broker.h"
#include "broker/core/consumer.h"
#include "broker/store/restore.h"
#include "broker/store/store.h"
#include "common/config.h"
#include "manual_runtime.h"
#include "temp_dir.h"

namespace warren::cluster::sim {
namespace {

constexpr uint64_t kMembers = 3;
constexpr int64_t kStepMs = 10;
constexpr int64_t kHealMs = 120000;  // to one home, every mirror in sync, drained
constexpr const char* kVHost = "/";
constexpr const char* kQueue = "q";
constexpr size_t kPublishWindow = 20;
constexpr uint16_t kPrefetch = 20;

class World;

// A member's end of the simulated network: its Raft transport, its
// forwarder of changes and lease renewals, and its streams to mirrors.
class Links final : public Transport, public Forwarder, public MirrorLink {
 public:
  Links(World& world, uint64_t self) : w_(world), self_(self) {}
  void Send(raft::NodeId to, std::string bytes) override;
  void Forward(raft::NodeId leader, std::string command,
               std::function<void(ForwardResult)> done) override;
  void Renew(raft::NodeId leader, std::function<void(bool, uint64_t)> done) override;
  void MirrorReset(uint64_t member, const std::string& vhost, const std::string& queue,
                   uint64_t epoch) override;
  void MirrorEnter(uint64_t member, const std::string& vhost, const std::string& queue,
                   uint64_t seq, core::MessagePtr message, std::function<void(bool)> held) override;
  void MirrorLeave(uint64_t member, const std::string& vhost, const std::string& queue,
                   std::vector<uint64_t> seqs) override;
  uint64_t Breaks(uint64_t member) override;
  bool Refusing(uint64_t member) override;

 private:
  World& w_;
  uint64_t self_;
};

class CopySource final : public core::MirrorSource {
 public:
  explicit CopySource(MirrorCopies& copies) : copies_(copies) {}
  std::vector<core::MessagePtr> TakeCopy(const std::string& vhost,
                                         const std::string& queue) override {
    return copies_.Take(vhost, queue);
  }

 private:
  MirrorCopies& copies_;
};

struct Member {
  uint64_t id = 0;
  bool up = false;
  uint64_t life = 0;  // one more at each crash: what was sent to a past life is lost
  std::unique_ptr<Links> links;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<core::Broker> broker;
  std::unique_ptr<MetadataMachine> machine;
  std::unique_ptr<RaftStorage> storage;
  std::unique_ptr<RaftDriver> driver;
  std::unique_ptr<RaftGate> gate;
  std::unique_ptr<MirrorPlanner> planner;
  std::unique_ptr<MirrorGuard> guard;
  std::unique_ptr<MirrorCopies> copies;
  std::unique_ptr<CopySource> source;
  std::unique_ptr<QueueReplicator> replicator;
};

// One home-to-mirror stream: ordered, and broken as a whole. What was in
// flight on a broken stream is lost, and every entry waiting to be held is
// answered false, as RemoteQueues does.
struct Stream {
  uint64_t generation = 0;
  uint64_t breaks = 0;
  int64_t last_due = 0;        // ops arrive in order
  int64_t last_answer_due = 0;  // and so do their answers
  uint64_t next_wait = 0;
  std::map<uint64_t, std::function<void(bool)>> waiting;
  bool break_pending = false;  // a cut the home has not noticed yet
};

struct Published {
  int publisher = 0;
  uint64_t n = 0;
};

struct Delivery {
  std::string body;
  bool redelivered = false;
  uint64_t member = 0;
  int64_t at_ms = 0;
};

class World {
 public:
  World(const MirrorScenario& scenario, uint64_t seed, bool trace)
      : s_(scenario), seed_(seed), rng_(seed * 0x9E3779B97F4A7C15ull + 1), trace_(trace) {
    loss_ = Chance(0.5) ? Uniform(0, 50) / 1000.0 : 0;
    duplicate_ = Chance(0.5) ? Uniform(0, 50) / 1000.0 : 0;
    max_delay_ = static_cast<int>(Uniform(1, 40));
    sync_batch_ = s_.failover_during_sync ? Uniform(1, 4) : Uniform(2, 64);
    for (uint64_t id = 1; id <= kMembers; ++id) {
      members_[id].id = id;
      members_[id].links = std::make_unique<Links>(*this, id);
    }
  }

  ~World() {
    for (auto& [id, m] : members_)
      if (m.up) Stop(m);
  }

  MirrorRunResult Run() {
    for (uint64_t id = 1; id <= kMembers; ++id) Boot(members_[id], /*first=*/true);
    if (!SetUp()) return Finish("the cluster did not form and declare the queue");
    int64_t chaos_end = Now() + s_.chaos_ms;
    while (Now() < chaos_end && result_.failure.empty()) {
      Faults();
      Clients(/*publishing=*/true);
      Step();
    }
    if (!result_.failure.empty()) return Finish(result_.failure);
    Trace("heal");
    Heal();
    int64_t heal_end = Now() + kHealMs;
    while (Now() < heal_end && result_.failure.empty() && !Settled()) {
      Clients(/*publishing=*/false);
      Step();
    }
    if (!result_.failure.empty()) return Finish(result_.failure);
    if (!Settled()) return Finish("not settled " + std::to_string(kHealMs) + " ms after healing: " +
                                  Describe());
    return Finish(Judge());
  }

  // ---- The network, for Links
  // Whether what `a` sends `b` is lost: either is down or cut off, or `a`
  // is muted (it hears, nobody hears it).
  bool Cut(uint64_t a, uint64_t b) const {
    if (a == b) return false;
    return !members_.at(a).up || !members_.at(b).up || isolated_.count(a) ||
           isolated_.count(b) || muted_.count(a);
  }
  int64_t Delay() { return Uniform(1, max_delay_); }
  bool Lost() { return loss_ > 0 && Chance(loss_); }
  bool Duplicated() { return duplicate_ > 0 && Chance(duplicate_); }
  Member& member(uint64_t id) { return members_.at(id); }
  testkit::ManualRuntime& runtime() { return runtime_; }
  Stream& stream(uint64_t from, uint64_t to) { return streams_[{from, to}]; }

  // Breaks the stream from `from` to `to`: what it carried is lost and its
  // waits are answered false, on a later turn of the loop.
  void Break(uint64_t from, uint64_t to) {
    Stream& st = stream(from, to);
    ++st.generation;
    ++st.breaks;
    st.last_due = st.last_answer_due = 0;
    st.break_pending = false;
    auto waiting = std::move(st.waiting);
    st.waiting.clear();
    if (waiting.empty() || !member(from).up) return;
    uint64_t life = member(from).life;
    runtime_.ScheduleAfter(0, [this, from, life, waiting = std::move(waiting)] {
      if (member(from).up && member(from).life == life)
        for (auto& [k, held] : waiting) held(false);
    });
  }

  // Sends `deliver` on the stream from `from` to `to`, in order. A stream
  // across a cut breaks (now, or once the sender notices it).
  void OnStream(uint64_t from, uint64_t to, std::function<void()> deliver) {
    Stream& st = stream(from, to);
    if (Cut(from, to)) {
      if (!member(to).up || !st.break_pending) Break(from, to);
      return;
    }
    int64_t due = std::max(st.last_due, Now() + Delay());
    st.last_due = due;
    uint64_t generation = st.generation;
    runtime_.ScheduleAfter(due - Now(), [this, from, to, generation, deliver = std::move(deliver)] {
      if (stream(from, to).generation != generation || Cut(from, to)) return;
      deliver();
    });
  }

  // The answer to the wait `key` of the stream from `from` to `to`.
  void Answer(uint64_t from, uint64_t to, uint64_t key, bool ok) {
    Stream& st = stream(from, to);
    int64_t due = std::max(st.last_answer_due, Now() + Delay());
    st.last_answer_due = due;
    uint64_t generation = st.generation;
    runtime_.ScheduleAfter(due - Now(), [this, from, to, generation, key, ok] {
      Stream& s = stream(from, to);
      if (s.generation != generation || Cut(to, from)) return;
      auto it = s.waiting.find(key);
      if (it == s.waiting.end()) return;
      std::function<void(bool)> held = std::move(it->second);
      s.waiting.erase(it);
      held(ok);
    });
  }

  void Trace(const std::string& line) {
    if (trace_)
      std::fprintf(stderr, "[%lld] %s\n", static_cast<long long>(Now() - start_), line.c_str());
  }

 private:
  // ---- Randomness, all from the seed
  int64_t Uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  int64_t Now() const { return runtime_.NowMs(); }

  // ---- Members
  void Boot(Member& m, bool first) {
    m.up = true;
    std::string dir = (root_ / std::to_string(m.id)).string();
    store::StoreOptions so;
    so.data_dir = dir + "/store";
    so.fsync = false;  // written at each step's end: a crash is a kill, losing nothing written
    uint64_t life = m.life;
    // The store's own writes (its posted flushes) wait while its disk is slow.
    so.post = [this, id = m.id, life](std::function<void()> fn) {
      int64_t wait = std::max<int64_t>(0, slow_until_[id] - Now());
      runtime_.ScheduleAfter(wait, [this, id, life, fn = std::move(fn)] {
        if (member(id).up && member(id).life == life) fn();
      });
    };
    so.on_fatal = [this](const std::string& why) { Fail("store: " + why); };
    m.store = std::make_unique<store::Store>(std::move(so));
    bool fresh = false;
    if (Status s = m.store->Open(fresh); !s.ok()) return Fail("store open: " + s.error().text);
    m.broker = std::make_unique<core::Broker>(runtime_, NodeConfig{});
    m.broker->set_self_member(m.id);
    m.broker->set_persistence(m.store.get());
    if (Status s = store::Restore(*m.store, *m.broker); !s.ok())
      return Fail("restore: " + s.error().text);
    m.machine = std::make_unique<MetadataMachine>(*m.broker);
    m.storage = std::make_unique<RaftStorage>(store::FileSystem::Default(), dir + "/raft");
    Result<raft::Persisted> persisted = m.storage->Open();
    if (!persisted.ok()) return Fail("raft open: " + persisted.error().text);
    if (first) {
      persisted = m.storage->Bootstrap(raft::Persisted::Bootstrap({1, 2, 3}));
      if (!persisted.ok()) return Fail("bootstrap: " + persisted.error().text);
    } else {
      // As Member::Build does on a restart (docs/cluster.md, "A member's restart").
      uint64_t applied = m.store->metadata_applied();
      RestoreTransient(*m.broker, persisted.value(), applied, m.id);
      m.machine->SkipThrough(applied);
    }
    DriverOptions o;
    o.raft.id = m.id;
    o.raft.seed = seed_ * 7919 + m.id * 104729 + m.life;
    o.on_fatal = [this](const std::string& why) { Fail("raft: " + why); };
    o.on_tick = [this, id = m.id] { OnTick(member(id)); };
    m.driver = std::make_unique<RaftDriver>(runtime_, *m.storage, *m.links, *m.machine, o,
                                            std::move(persisted.value()));
    m.gate = std::make_unique<RaftGate>(runtime_, *m.driver, *m.machine, *m.links,
                                        o.proposal_timeout_ms);
    m.planner = std::make_unique<MirrorPlanner>(*m.broker, *m.gate);
    MirrorGuard::Links guard_links;
    guard_links.renew = [links = m.links.get()](raft::NodeId leader,
                                                std::function<void(bool, uint64_t)> granted) {
      links->Renew(leader, std::move(granted));
    };
    guard_links.members = [] { return Names(); };
    m.guard = std::make_unique<MirrorGuard>(*m.broker, runtime_, m.driver->raft(), *m.gate, m.id,
                                            o.tick_ms, std::move(guard_links));
    if (!first) m.guard->HoldUntilCaughtUp();
    m.copies = std::make_unique<MirrorCopies>(*m.broker);
    size_t recovered = m.copies->Recover();
    if (recovered > 0)
      Trace("member " + std::to_string(m.id) + " recovered " + std::to_string(recovered) +
            " messages of its copies");
    m.source = std::make_unique<CopySource>(*m.copies);
    m.broker->set_mirror_source(m.source.get());
    m.replicator = std::make_unique<QueueReplicator>(*m.broker, *m.links, *m.gate, runtime_,
                                                     m.copies.get());
    m.driver->Start();
  }

  // Stops `m` as a kill would (what the store wrote stays; everything in
  // memory goes), in the order a node tears down.
  void Stop(Member& m) {
    Trace("member " + std::to_string(m.id) + " stops");
    m.up = false;
    ++m.life;
    for (uint64_t other = 1; other <= kMembers; ++other) {
      if (other == m.id) continue;
      Break(m.id, other);
      Break(other, m.id);
    }
    std::vector<std::shared_ptr<core::Consumer>> graveyard;
    if (consumer_.member == m.id) graveyard = Detach();
    for (auto it = in_flight_.begin(); it != in_flight_.end();)
      it = it->second == m.id ? in_flight_.erase(it) : std::next(it);
    m.replicator.reset();
    if (m.broker) m.broker->set_mirror_source(nullptr);
    m.guard.reset();
    m.planner.reset();
    m.gate.reset();
    m.driver.reset();
    m.machine.reset();
    m.storage.reset();
    if (m.store) m.store->Close();
    m.broker.reset();
    m.store.reset();
    m.source.reset();
    m.copies.reset();
  }

  void OnTick(Member& m) {
    m.guard->Tick();
    if (m.driver->raft().role() == raft::Role::kLeader)
      m.planner->Plan(Names(), m.driver->raft().log().applied());
    else
      m.planner->Forget();
  }

  static std::vector<core::MemberName> Names() {
    std::vector<core::MemberName> out;
    for (uint64_t id = 1; id <= kMembers; ++id) out.push_back({id, NameOf(id)});
    return out;
  }

 public:
  static std::string NameOf(uint64_t id) { return "warren@n" + std::to_string(id); }

 private:
  // ---- Time
  void Step() {
    runtime_.Advance(kStepMs);
    // What a node writes before it answers a client: the store syncs here.
    for (auto& [id, m] : members_)
      if (m.up && Now() >= slow_until_[id]) m.store->WriteBuffered();
    CheckOneServer();
  }

  bool RunUntil(const std::function<bool()>& done, int64_t ms) {
    for (int64_t t = 0; t < ms && result_.failure.empty(); t += kStepMs) {
      if (done()) return true;
      Step();
    }
    return done();
  }

  uint64_t Leader() {
    for (auto& [id, m] : members_)
      if (m.up && m.driver->raft().role() == raft::Role::kLeader) return id;
    return 0;
  }

  bool Submit(core::Command command) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      if (!RunUntil([&] { return Leader() != 0; }, 10000)) return false;
      auto answered = std::make_shared<std::optional<core::Outcome>>();
      member(Leader()).gate->Submit(command, [answered](const core::Outcome& o) { *answered = o; });
      if (RunUntil([&] { return answered->has_value(); }, 10000) && (*answered)->status.ok())
        return true;
    }
    return false;
  }

  bool SetUp() {
    start_ = Now();
    core::cmd::SetPolicy policy;
    policy.vhost = kVHost;
    policy.name = "ha-all";
    policy.pattern = "^";
    policy.definition.Set("ha-mode", amqp::FieldValue::Str("all"));
    policy.definition.Set("ha-sync-mode", amqp::FieldValue::Str("automatic"));
    policy.definition.Set("ha-sync-batch-size", amqp::FieldValue::Long(sync_batch_));
    core::cmd::DeclareQueue declare;
    declare.vhost = kVHost;
    declare.name = kQueue;
    declare.durable = true;
    declare.node = static_cast<uint64_t>(Uniform(1, kMembers));
    if (!Submit(core::cmd::AddVHost{kVHost}) || !Submit(policy) || !Submit(declare)) return false;
    Trace("queue homed on member " + std::to_string(declare.node) + ", sync batch " +
          std::to_string(sync_batch_) + ", loss " + std::to_string(loss_) + ", delay <= " +
          std::to_string(max_delay_));
    return RunUntil([&] { return InSync(); }, 20000);
  }

  // ---- The queue as the members see it
  std::shared_ptr<core::Queue> QueueOn(uint64_t id) {
    Member& m = member(id);
    if (!m.up) return nullptr;
    core::VHost* v = m.broker->FindVHost(kVHost);
    return v ? v->FindQueue(kQueue) : nullptr;
  }
  // Where member `id`'s record homes the queue (0: no record).
  uint64_t HomeSeenBy(uint64_t id) {
    std::shared_ptr<core::Queue> q = QueueOn(id);
    return q ? member(id).broker->HomeOf(*q) : 0;
  }
  // A member serving the queue: it homes it by its own record and gives
  // messages out (not held).
  bool Serves(uint64_t id) {
    std::shared_ptr<core::Queue> q = QueueOn(id);
    return q && !q->remote() && !q->held();
  }
  bool InSync() {
    for (uint64_t id = 1; id <= kMembers; ++id) {
      std::shared_ptr<core::Queue> q = QueueOn(id);
      if (!q || q->remote()) continue;
      const core::Mirrors& r = q->mirrors();
      return r.members.size() == kMembers - 1 && r.in_sync == r.members;
    }
    return false;
  }

  // At every step: no two members serve the queue at once.
  void CheckOneServer() {
    std::vector<uint64_t> serving;
    for (uint64_t id = 1; id <= kMembers; ++id)
      if (Serves(id)) serving.push_back(id);
    if (serving.size() > 1)
      Fail("members " + std::to_string(serving[0]) + " and " + std::to_string(serving[1]) +
           " both serve the queue");
    if (serving.size() == 1 && serving[0] != last_server_) {
      if (last_server_ != 0) ++result_.moves;
      last_server_ = serving[0];
      Trace("member " + std::to_string(serving[0]) + " serves the queue");
    }
  }

  // ---- Faults: at most one member down or cut off at a time
  void Faults() {
    const int64_t now = Now();
    if (faulty_ != 0 && now >= fault_ends_) {
      if (!member(faulty_).up) {
        Trace("member " + std::to_string(faulty_) + " restarts");
        Boot(member(faulty_), /*first=*/false);
      } else {
        Trace("member " + std::to_string(faulty_) + " is reachable again");
        isolated_.erase(faulty_);
        muted_.erase(faulty_);
      }
      faulty_ = 0;
    }
    if (faulty_ == 0) {
      uint64_t home = last_server_;
      if (s_.failover_during_sync && home != 0 && MirrorSyncing(home) && Chance(0.05)) {
        ++result_.crashed_in_sync;
        Crash(home);
      } else if (Chance(0.0015)) {
        Crash(home != 0 && Chance(0.6) ? home : static_cast<uint64_t>(Uniform(1, kMembers)));
      } else if (Chance(0.001)) {
        uint64_t id = home != 0 && Chance(0.6) ? home : static_cast<uint64_t>(Uniform(1, kMembers));
        ++result_.cut_offs;
        faulty_ = id;
        fault_ends_ = now + Uniform(500, 10000);
        // Cut off both ways, or only from sending (it still hears the others).
        bool mute = Chance(0.3);
        (mute ? muted_ : isolated_).insert(id);
        Trace("member " + std::to_string(id) + (mute ? " is muted" : " is cut off"));
        // Its streams break once each end notices, within 3 s.
        for (uint64_t other = 1; other <= kMembers; ++other) {
          if (other == id) continue;
          for (auto [from, to] : {std::pair{id, other}, std::pair{other, id}}) {
            stream(from, to).break_pending = true;
            uint64_t generation = stream(from, to).generation;
            runtime_.ScheduleAfter(Uniform(0, 3000), [this, from = from, to = to, generation] {
              if (stream(from, to).generation == generation && stream(from, to).break_pending)
                Break(from, to);
            });
          }
        }
      }
    }
    if (Chance(0.002)) {  // a slow disk: what its store writes waits
      uint64_t id = Uniform(1, kMembers);
      slow_until_[id] = now + Uniform(50, 3000);
      ++result_.slow_disks;
      Trace("member " + std::to_string(id) + "'s disk is slow until " +
            std::to_string(slow_until_[id] - start_));
    }
    if (Chance(0.002)) {  // a stream reset, anywhere
      uint64_t from = Uniform(1, kMembers), to = Uniform(1, kMembers);
      if (from != to) {
        ++result_.stream_breaks;
        Trace("the stream from " + std::to_string(from) + " to " + std::to_string(to) + " breaks");
        Break(from, to);
      }
    }
    if (s_.failover_during_sync && Chance(0.002)) consumer_.paused = !consumer_.paused;
  }

  // Whether a mirror of the queue homed on `home` is up and out of sync.
  bool MirrorSyncing(uint64_t home) {
    std::shared_ptr<core::Queue> q = QueueOn(home);
    if (!q || q->remote() || q->ready_count() < 20) return false;
    for (uint64_t id : q->mirrors().members)
      if (member(id).up && !isolated_.count(id) &&
          !std::count(q->mirrors().in_sync.begin(), q->mirrors().in_sync.end(), id))
        return true;
    return false;
  }

  void Crash(uint64_t id) {
    ++result_.crashes;
    faulty_ = id;
    fault_ends_ = Now() + Uniform(200, 8000);
    Trace("member " + std::to_string(id) + " crashes");
    Stop(member(id));
  }

  void Heal() {
    if (faulty_ != 0 && !member(faulty_).up) Boot(member(faulty_), /*first=*/false);
    isolated_.clear();
    muted_.clear();
    slow_until_.clear();
    faulty_ = 0;
    loss_ = 0;
    consumer_.paused = false;
  }

  // ---- Clients: two confirming publishers and one acking consumer, each
  // on the member it last found the queue homed on.
  struct Publisher {
    uint64_t member = 0;
    uint64_t next = 0;
  };
  struct Consumer final : public core::ConsumerSink {
    uint64_t member = 0;
    std::shared_ptr<core::Consumer> consumer;
    std::deque<core::QueueEntry> unacked;
    bool paused = false;
    World* world = nullptr;

    bool HasCredit(const core::Consumer& c) const override { return c.unacked < kPrefetch; }
    void Deliver(core::Consumer& c, core::QueueEntry entry) override {
      ++c.unacked;
      world->Delivered(member, entry);
      unacked.push_back(std::move(entry));
    }
    void Cancelled(core::Consumer&) override { world->Cancelled(); }
  };

  // Where a client finds the queue's home: asks a member it can reach.
  uint64_t FindHome() {
    uint64_t asked = Uniform(1, kMembers);
    if (!member(asked).up) return 0;
    uint64_t home = HomeSeenBy(asked);
    return home != 0 && member(home).up ? home : 0;
  }

  void Clients(bool publishing) {
    if (publishing)
      for (int p = 0; p < 2; ++p) Publish(p);
    Consume();
  }

  void Publish(int p) {
    Publisher& pub = publishers_[p];
    size_t flying = 0;
    for (auto& [body, at] : in_flight_) flying += published_.at(body).publisher == p;
    if (flying >= kPublishWindow || !Chance(0.4)) return;
    std::shared_ptr<core::Queue> q = pub.member ? QueueOn(pub.member) : nullptr;
    if (!q || q->remote()) {
      pub.member = FindHome();
      return;
    }
    std::string body = "p" + std::to_string(p) + "-" + std::to_string(pub.next);
    published_[body] = {p, pub.next++};
    ++result_.published;
    amqp::BasicProperties props;
    props.delivery_mode = 2;
    core::MessagePtr message = core::MakeMessage("", kQueue, props, body);
    core::Ticket ticket = core::NewTicket();
    Member& m = member(pub.member);
    core::PublishOutcome out = m.broker->FindVHost(kVHost)->PublishTo({kQueue}, message, ticket);
    if (out.routed == 0 || out.rejected) return;
    in_flight_[body] = m.id;
    uint64_t id = m.id;
    auto done = [this, body, id](bool ok) {
      in_flight_.erase(body);
      if (!ok) return;
      confirmed_[body] = {id, Now()};
      ++result_.confirmed;
    };
    if (m.broker->durability().Await(ticket, done)) done(ticket->ok());
  }

  void Consume() {
    Consumer& c = consumer_;
    c.world = this;
    if (!c.consumer) {
      uint64_t home = FindHome();
      std::shared_ptr<core::Queue> q = home ? QueueOn(home) : nullptr;
      if (!q || q->remote() || !q->CanAddConsumer(false).ok()) return;
      c.member = home;
      c.consumer = std::make_shared<core::Consumer>(c, "sim", false, false, 0);
      c.consumer->prefetch = kPrefetch;
      c.consumer->queue = q;
      Trace("the consumer attaches on member " + std::to_string(home));
      q->AddConsumer(c.consumer.get());
      return;
    }
    if (c.paused || c.unacked.empty()) return;
    std::shared_ptr<core::Queue> q = c.consumer->queue;
    for (int64_t n = Uniform(0, 5); n > 0 && !c.unacked.empty() && c.consumer; --n) {
      core::QueueEntry e = std::move(c.unacked.front());
      c.unacked.pop_front();
      --c.consumer->unacked;
      q->Ack(e);
    }
    if (c.consumer) q->TryDeliver();
  }

  void Delivered(uint64_t id, const core::QueueEntry& e) {
    deliveries_.push_back({e.message->body, e.redelivered, id, Now()});
    Trace("member " + std::to_string(id) + " delivers '" + e.message->body + "'" +
          (e.redelivered ? " (redelivered)" : ""));
    ++result_.delivered;
    if (e.redelivered) ++result_.redelivered;
  }

  // The queue moved away from the consumer's member (or was deleted): it
  // finds the home again; what it held unacked is gone with the old queue.
  void Cancelled() {
    Trace("the consumer on member " + std::to_string(consumer_.member) + " is cancelled");
    std::vector<std::shared_ptr<core::Consumer>> dead = Detach();
    runtime_.ScheduleAfter(0, [dead] {});  // outlives the queue's turn that cancelled it
  }

  // Drops the consumer (its member stopped or its queue moved); the caller
  // keeps what is returned alive while the queue may still point at it.
  std::vector<std::shared_ptr<core::Consumer>> Detach() {
    std::vector<std::shared_ptr<core::Consumer>> out;
    if (!consumer_.consumer) return out;
    consumer_.consumer->queue.reset();
    out.push_back(std::move(consumer_.consumer));
    consumer_.consumer.reset();
    consumer_.unacked.clear();
    consumer_.member = 0;
    return out;
  }

  // ---- The end
  const MirrorCopies::Copy* CopyOn(uint64_t id) {
    const Member& m = member(id);
    return m.copies ? m.copies->Find(kVHost, kQueue) : nullptr;
  }

  bool Settled() {
    uint64_t home = 0;
    for (uint64_t id = 1; id <= kMembers; ++id)
      if (Serves(id)) home = id;
    if (home == 0 || !InSync() || !in_flight_.empty()) return false;
    for (uint64_t id = 1; id <= kMembers; ++id)
      if (HomeSeenBy(id) != home) return false;
    std::shared_ptr<core::Queue> q = QueueOn(home);
    if (!consumer_.consumer || consumer_.member != home || q->ready_count() != 0 ||
        q->unacked_count() != 0)
      return false;
    // The mirrors' copies drained with the queue: every ack reached them.
    for (uint64_t id = 1; id <= kMembers; ++id) {
      const MirrorCopies::Copy* copy = CopyOn(id);
      if (id != home && copy && !copy->entries.empty()) return false;
    }
    return true;
  }

  std::string Describe() {
    std::string out;
    for (uint64_t id = 1; id <= kMembers; ++id) {
      std::shared_ptr<core::Queue> q = QueueOn(id);
      out += "member " + std::to_string(id) + (member(id).up ? "" : " down");
      if (q)
        out += ": home " + std::to_string(member(id).broker->HomeOf(*q)) +
               (q->held() ? " held" : "") + ", in sync " +
               std::to_string(q->mirrors().in_sync.size()) + "/" +
               std::to_string(q->mirrors().members.size()) + ", ready " +
               std::to_string(q->ready_count()) + ", unacked " + std::to_string(q->unacked_count());
      if (const MirrorCopies::Copy* copy = CopyOn(id))
        out += ", its copy " + std::to_string(copy->entries.size());
      out += "; ";
    }
    return out + std::to_string(in_flight_.size()) + " publishes in flight";
  }

  std::string Judge() {
    std::set<std::string> seen;
    std::map<int, uint64_t> last;  // per publisher, the last first delivery
    for (const Delivery& d : deliveries_) {
      auto p = published_.find(d.body);
      if (p == published_.end()) return "delivered '" + d.body + "', never published";
      seen.insert(d.body);
      if (d.redelivered) continue;
      auto l = last.find(p->second.publisher);
      if (l != last.end() && p->second.n <= l->second)
        return "'" + d.body + "' delivered (not redelivered) by member " +
               std::to_string(d.member) + " after publisher " +
               std::to_string(p->second.publisher) + "'s message " + std::to_string(l->second);
      last[p->second.publisher] = p->second.n;
    }
    for (const auto& [body, at] : confirmed_)
      if (!seen.count(body))
        return "'" + body + "', confirmed by member " + std::to_string(at.first) + " at " +
               std::to_string(at.second - start_) + " ms, was never delivered";
    return "";
  }

  MirrorRunResult Finish(std::string failure) {
    result_.failure = std::move(failure);
    return result_;
  }

  void Fail(const std::string& why) {
    if (result_.failure.empty())
      result_.failure = why + " (at " + std::to_string(Now() - start_) + " ms)";
  }

  const MirrorScenario s_;
  const uint64_t seed_;
  std::mt19937_64 rng_;
  const bool trace_;
  double loss_ = 0;       // of Raft messages, forwards and renewals
  double duplicate_ = 0;  // of Raft messages
  int64_t max_delay_ = 1;
  int64_t sync_batch_ = 64;
  testkit::ManualRuntime runtime_;
  testkit::TempDir root_{"mirror-sim"};
  std::map<uint64_t, Member> members_;
  std::map<std::pair<uint64_t, uint64_t>, Stream> streams_;
  std::set<uint64_t> isolated_;
  std::set<uint64_t> muted_;
  std::map<uint64_t, int64_t> slow_until_;  // a member's disk writes nothing before
  uint64_t faulty_ = 0;  // the member down or cut off now
  int64_t fault_ends_ = 0;
  int64_t start_ = 0;
  uint64_t last_server_ = 0;
  Publisher publishers_[2];
  Consumer consumer_;
  std::map<std::string, Published> published_;
  std::map<std::string, uint64_t> in_flight_;  // body -> member it was published on
  std::map<std::string, std::pair<uint64_t, int64_t>> confirmed_;  // body -> member, when
  std::vector<Delivery> deliveries_;
  MirrorRunResult result_;
};

// ---- Links

void Links::Send(raft::NodeId to, std::string bytes) {
  if (w_.Cut(self_, to) || w_.Lost()) return;
  uint64_t from = self_;
  for (int copies = w_.Duplicated() ? 2 : 1; copies > 0; --copies)
    w_.runtime().ScheduleAfter(w_.Delay(), [this, from, to, bytes] {
      if (!w_.Cut(from, to)) w_.member(to).driver->Receive(bytes);
    });
}

void Links::Forward(raft::NodeId leader, std::string command,
                    std::function<void(ForwardResult)> done) {
  if (w_.Cut(self_, leader) || w_.Lost()) return;  // lost: the gate's timeout answers
  uint64_t self = self_, life = w_.member(self_).life;
  w_.runtime().ScheduleAfter(w_.Delay(), [this, self, life, leader, command = std::move(command),
                                          done = std::move(done)]() mutable {
    if (w_.Cut(self, leader)) return;
    w_.member(leader).gate->ProposeForPeer(
        std::move(command), [this, self, life, leader, done](ForwardResult r) {
          if (w_.Cut(leader, self)) return;
          w_.runtime().ScheduleAfter(w_.Delay(), [this, self, life, done, r = std::move(r)] {
            if (w_.member(self).up && w_.member(self).life == life) done(r);
          });
        });
  });
}

void Links::Renew(raft::NodeId leader, std::function<void(bool, uint64_t)> done) {
  if (w_.Cut(self_, leader) || w_.Lost()) return;
  uint64_t self = self_, life = w_.member(self_).life;
  w_.runtime().ScheduleAfter(w_.Delay(), [this, self, life, leader, done = std::move(done)] {
    if (w_.Cut(self, leader)) return;
    std::optional<uint64_t> granted = w_.member(leader).guard->GrantLease(World::NameOf(self));
    w_.runtime().ScheduleAfter(w_.Delay(), [this, self, life, leader, granted, done] {
      if (!w_.Cut(leader, self) && w_.member(self).life == life)
        done(granted.has_value(), granted.value_or(0));
    });
  });
}

// The mirror's check of who feeds its copy, as QueueHome makes it.
bool FedBy(const Member& m, uint64_t from, const std::string& vhost, const std::string& queue) {
  return MirrorCopies::FedBy(*m.broker, vhost, queue, [from](uint64_t h) { return h == from; });
}

void Links::MirrorReset(uint64_t member, const std::string& vhost, const std::string& queue,
                        uint64_t epoch) {
  uint64_t from = self_;
  w_.OnStream(from, member, [this, from, member, vhost, queue, epoch] {
    Member& m = w_.member(member);
    if (FedBy(m, from, vhost, queue))
      m.copies->Reset(vhost, queue, epoch);
  });
}

void Links::MirrorEnter(uint64_t member, const std::string& vhost, const std::string& queue,
                        uint64_t seq, core::MessagePtr message, std::function<void(bool)> held) {
  uint64_t from = self_;
  Stream& st = w_.stream(from, member);
  uint64_t key = st.next_wait++;
  st.waiting[key] = std::move(held);
  w_.OnStream(from, member, [this, from, member, vhost, queue, seq, message, key] {
    Member& m = w_.member(member);
    // What the wire would carry: the mirror's own message, not yet written.
    auto own = std::make_shared<core::Message>(*message);
    own->disk = {};
    core::Ticket ticket = core::NewTicket();
    if (!FedBy(m, from, vhost, queue) ||
        !m.copies->Enter(vhost, queue, seq, std::move(own), ticket))
      ticket->Refuse();
    // Answered once held: on disk for a persistent message.
    uint64_t life = m.life;
    auto answer = [this, from, member, key, life](bool ok) {
      if (w_.member(member).up && w_.member(member).life == life) w_.Answer(from, member, key, ok);
    };
    if (m.broker->durability().Await(ticket, answer)) answer(ticket->ok());
  });
}

void Links::MirrorLeave(uint64_t member, const std::string& vhost, const std::string& queue,
                        std::vector<uint64_t> seqs) {
  uint64_t from = self_;
  w_.OnStream(from, member, [this, from, member, vhost, queue, seqs = std::move(seqs)] {
    Member& m = w_.member(member);
    if (FedBy(m, from, vhost, queue))
      m.copies->Leave(vhost, queue, seqs);
  });
}

uint64_t Links::Breaks(uint64_t member) { return w_.stream(self_, member).breaks; }

bool Links::Refusing(uint64_t member) { return !w_.member(member).up || w_.Cut(self_, member); }

}  // namespace

MirrorRunResult RunMirrorSeed(const MirrorScenario& scenario, uint64_t seed, bool trace) {
  auto level = spdlog::get_level();
  spdlog::set_level(trace ? spdlog::level::info : spdlog::level::off);
  MirrorRunResult r;
  {
    World world(scenario, seed, trace);
    r = world.Run();
  }
  spdlog::set_level(level);
  return r;
}

}  // namespace warren::cluster::sim
