#include "broker/cluster/remote_queues.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "amqp/constants.h"
#include "amqp/field_table.h"
#include "broker/cluster/cluster_service.h"
#include "broker/cluster/queue_wire.h"
#include "broker/cluster/raft_driver.h"
#include "common/text.h"
#include "warren/v1/cluster.grpc.pb.h"

namespace warren::cluster {

using Op = v1::QueueOp;

namespace {

// How long a link that could not open answers unreachable at once.
constexpr int64_t kDownMs = 1000;

core::RemoteReply Unreachable() {
  core::RemoteReply r;
  r.unreachable = true;
  r.status = Error{static_cast<uint16_t>(amqp::ReplyCode::kNotFound), ""};
  return r;
}

Status Refusal(const Op& reply) {
  uint32_t code = reply.code();
  if (code < 300 || code > 599) code = static_cast<uint32_t>(amqp::ReplyCode::kInternalError);
  return Error{static_cast<uint16_t>(code), Printable(reply.text().substr(0, 1024))};
}

Op::Settle WireSettle(core::SettleKind kind) {
  switch (kind) {
    case core::SettleKind::kAck: return Op::ACK;
    case core::SettleKind::kReject: return Op::REJECT;
    default: return Op::REQUEUE;
  }
}

}  // namespace

class RemoteQueues::Link : public std::enable_shared_from_this<Link> {
 public:
  Link(RemoteQueues& owner, uint64_t home, std::string address)
      : owner_(owner), home_(home), address_(std::move(address)),
        peer_(address_, owner.secret_, owner.options_.self, owner.options_.hello_timeout_ms) {}

  ~Link() { Stop(); }

  const std::string& address() const { return address_; }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }

  // Stops the threads, then fails what waited (on the loop).
  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      if (context_) context_->TryCancel();
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    Fail(false);
  }

  // --- on the loop ---

  struct Pending {
    std::function<void(bool)> published;
    core::QueueRemote::Reply reply;
    std::function<void(uint64_t, Status)> consumed;
    core::RemoteConsumerSink* sink = nullptr;
    std::function<void(ForwardResult)> proposed;
    bool answered() const { return published || reply || consumed || proposed; }
  };

  // Queues `op` with what waits for its answer (none for settle, credit,
  // cancel). A link that could not open a moment ago fails it at once.
  void Send(Op op, Pending pending) {
    bool answered = pending.answered();
    if (owner_.runtime_.NowMs() < down_until_ms_) {
      if (answered) FailSoon(std::move(pending));
      return;
    }
    if (answered) pending_[op.id()] = std::move(pending);
    outbox_.Push(std::move(op));
    // The writer is woken once a loop turn, for everything the turn queued:
    // one frame, not one write per op.
    if (kick_scheduled_) return;
    kick_scheduled_ = true;
    OnLoop([](Link& self) {
      self.kick_scheduled_ = false;
      { std::lock_guard lock(self.mu_); }  // the writer is waiting, or will see the ops
      self.wake_.notify_one();
    });
  }

  bool congested() const { return outbox_.bytes() > kCongestedBytes; }

  void WhenDrained(std::function<void()> drained) {
    drained_.push_back(std::move(drained));
    {
      std::lock_guard lock(mu_);
      drained_wanted_ = true;
    }
    // The writer may have drained the outbox before it saw the wish (and
    // then writes nothing more to check it after): answer it here.
    if (outbox_.bytes() < kDrainedBytes) OnLoop([](Link& self) { self.Drained(); });
  }

  void Credit(uint64_t consumer, uint32_t count) {
    if (!consumers_.count(consumer)) return;
    credits_[consumer] += count;
    if (credit_flush_) return;
    credit_flush_ = true;
    OnLoop([](Link& self) { self.FlushCredits(); });
  }

  void Cancel(uint64_t consumer) {
    if (consumers_.erase(consumer) == 0) return;
    credits_.erase(consumer);
    Op op;
    op.set_kind(Op::CANCEL);
    op.set_id(consumer);
    Send(std::move(op), {});
  }

  void Settle(uint64_t consumer, core::SettleKind kind, std::vector<uint64_t> deliveries) {
    // After a broken stream the home requeued these already.
    if (!open_) return;
    Op op;
    op.set_kind(Op::SETTLE);
    op.set_id(consumer);
    op.set_settle(WireSettle(kind));
    for (uint64_t d : deliveries) op.add_deliveries(d);
    Send(std::move(op), {});
  }

  void Receive(v1::QueueFrame& frame) {
    int ignored = 0;
    for (Op& op : *frame.mutable_ops()) {
      switch (op.kind()) {
        case Op::REPLY: Answer(op); break;
        case Op::DELIVER: Deliver(op); break;
        case Op::CANCELLED: {
          auto it = consumers_.find(op.id());
          if (it == consumers_.end()) break;
          core::RemoteConsumerSink* sink = it->second;
          consumers_.erase(it);
          credits_.erase(op.id());
          sink->RemoteCancelled(op.id());
          break;
        }
        default: ++ignored;
      }
    }
    // Once a frame, so a peer cannot flood the log.
    if (ignored > 0)
      spdlog::warn("cluster: node {} sent {} Queues ops a caller does not take; ignored",
                   LogSafe(owner_.NodeName(home_)), ignored);
    if (undecodable_ > 0)
      spdlog::warn("cluster: node {} sent {} messages that were refused: {}",
                   LogSafe(owner_.NodeName(home_)), undecodable_, undecodable_why_);
    undecodable_ = 0;
  }

  void Opened() { open_ = true; }
  uint64_t breaks() const { return breaks_; }
  // Could not open a moment ago: what is sent now is dropped or failed.
  bool refusing() const { return owner_.runtime_.NowMs() < down_until_ms_; }

  // The stream broke (or never opened: `refused`): everything that waited
  // on it fails; then the link may open a new one.
  void Down(bool refused) {
    if (refused) down_until_ms_ = owner_.runtime_.NowMs() + kDownMs;
    Fail(true, /*sent=*/!refused);
  }

  void Drained() {
    std::vector<std::function<void()>> drained;
    drained.swap(drained_);
    for (auto& d : drained) d();
  }

 private:
  // Runs `fn` on the node's loop, from any thread, unless the link is gone
  // by then.
  void OnLoop(std::function<void(Link&)> fn) {
    owner_.options_.post([weak = weak_from_this(), fn = std::move(fn)] {
      if (auto self = weak.lock()) fn(*self);
    });
  }

  void FailSoon(Pending pending) {
    owner_.runtime_.ScheduleAfter(0, [pending = std::move(pending)]() mutable {
      FailOne(pending, /*sent=*/false);
    });
  }

  // `sent`: it may have reached the home before the stream broke.
  static void FailOne(Pending& p, bool sent) {
    if (p.published) {
      p.published(false);
    } else if (p.reply) {
      p.reply(Unreachable());
    } else if (p.consumed) {
      p.consumed(0, Status::Ok());
    } else if (p.proposed) {
      ForwardResult r;
      r.outcome.status = NotCommitted(sent ? "the stream to the leader broke; retry"
                                           : "the leader could not be reached; retry");
      r.unreached = !sent;
      p.proposed(r);
    }
  }

  void Fail(bool reopen, bool sent = true) {
    open_ = false;
    ++breaks_;
    outbox_.Reopen();  // what waited was for the stream that broke
    std::map<uint64_t, Pending> pending;
    pending.swap(pending_);
    std::map<uint64_t, core::RemoteConsumerSink*> consumers;
    consumers.swap(consumers_);
    credits_.clear();
    for (auto& [id, p] : pending) FailOne(p, sent);
    for (auto& [id, sink] : consumers) sink->RemoteCancelled(id);
    Drained();
    if (!reopen) return;
    {
      std::lock_guard lock(mu_);
      may_connect_ = true;
    }
    wake_.notify_one();
  }

  void FlushCredits() {
    credit_flush_ = false;
    std::map<uint64_t, uint32_t> credits;
    credits.swap(credits_);
    for (auto& [id, count] : credits) {
      Op op;
      op.set_kind(Op::CREDIT);
      op.set_id(id);
      op.set_count(count);
      Send(std::move(op), {});
    }
  }

  // Every publish up to `last` still waiting was held. Answered after all
  // are taken out: an answer may send more, or fail the link.
  void AnswerPublishesThrough(uint64_t last) {
    std::vector<std::function<void(bool)>> held;
    for (auto it = pending_.begin(); it != pending_.end() && it->first <= last;) {
      if (!it->second.published) {
        ++it;
        continue;
      }
      held.push_back(std::move(it->second.published));
      it = pending_.erase(it);
    }
    for (auto& published : held) published(true);
  }

  void Answer(Op& op) {
    if (op.through()) {
      AnswerPublishesThrough(op.id());
      return;
    }
    auto it = pending_.find(op.id());
    if (it == pending_.end()) {
      // Not waited for (its request failed meanwhile): a message the home
      // set aside for a get goes back.
      if (op.found() && op.delivery() != 0) Settle(0, core::SettleKind::kRequeue, {op.delivery()});
      return;
    }
    Pending p = std::move(it->second);
    pending_.erase(it);
    if (p.published) {
      p.published(op.code() == 0);
      return;
    }
    if (p.proposed) {
      ForwardResult r;
      r.index = op.index();
      r.term = op.term();
      r.appended = op.appended() && op.index() != 0 && op.code() == 0;
      if (op.code() != 0) r.outcome.status = Refusal(op);
      else if (op.index() == 0) r.outcome.status = NotCommitted("the leader did not say why");
      r.outcome.message_count = op.count();
      r.outcome.consumer_count = op.consumers();
      p.proposed(r);
      return;
    }
    if (p.consumed) {
      if (op.code() != 0) {
        p.consumed(0, Refusal(op));
        return;
      }
      consumers_[op.id()] = p.sink;
      p.consumed(op.id(), Status::Ok());
      return;
    }
    core::RemoteReply r;
    if (op.code() != 0) {
      r.status = Refusal(op);
      p.reply(std::move(r));
      return;
    }
    r.message_count = op.count();
    r.index = op.index();
    r.consumer_count = op.consumers();
    r.unacked_count = op.unacked();
    r.census.vhost_connections = op.vhost_connections();
    r.census.user_connections = op.user_connections();
    r.census.user_channels = op.user_channels();
    if (op.found()) {
      Result<core::MessagePtr> m =
          FromWire(*op.mutable_message(), owner_.options_.max_message_size);
      if (!m.ok()) {
        ++undecodable_;
        undecodable_why_ = m.error().text;
        Settle(0, core::SettleKind::kRequeue, {op.delivery()});
        r.status = Error{static_cast<uint16_t>(amqp::ReplyCode::kInternalError),
                         "the queue's home sent a message that does not decode"};
      } else {
        r.message = std::move(m.value());
        r.redelivered = op.redelivered();
        r.delivery = op.delivery();
      }
    }
    p.reply(std::move(r));
  }

  void Deliver(Op& op) {
    auto it = consumers_.find(op.id());
    Result<core::MessagePtr> m = FromWire(*op.mutable_message(), owner_.options_.max_message_size);
    if (!m.ok()) {
      ++undecodable_;
      undecodable_why_ = m.error().text;
      Settle(op.id(), core::SettleKind::kReject, {op.delivery()});
      return;
    }
    if (it == consumers_.end() ||
        !it->second->RemoteDeliver(op.id(), std::move(m.value()), op.redelivered(), op.delivery()))
      Settle(op.id(), core::SettleKind::kRequeue, {op.delivery()});
  }

  // --- the link's threads ---

  void Run() {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        wake_.wait(lock, [&] { return stopping_ || (may_connect_ && outbox_.size() > 0); });
        if (stopping_) return;
        may_connect_ = false;
      }
      bool opened = Stream();
      OnLoop([opened](Link& self) { self.Down(!opened); });
    }
  }

  // One stream, from opening to breaking; false when it did not open.
  bool Stream() {
    grpc::ClientContext context;
    grpc::Status status;
    std::unique_ptr<PeerClient::QueueStreamClient> stream = peer_.OpenQueues(context, status);
    if (!stream) {
      spdlog::debug("cluster: no Queues stream to {}: {}", address_, status.error_message());
      return false;
    }
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        context.TryCancel();
        stream->Finish();
        return true;
      }
      context_ = &context;
      broken_ = false;
    }
    OnLoop([](Link& self) { self.Opened(); });
    std::thread reader([&] {
      v1::QueueFrame frame;
      while (stream->Read(&frame)) {
        auto posted = std::make_shared<v1::QueueFrame>(std::move(frame));
        frame.Clear();
        OnLoop([posted](Link& self) { self.Receive(*posted); });
      }
      std::lock_guard lock(mu_);
      broken_ = true;
      wake_.notify_all();
    });
    for (;;) {
      {
        std::unique_lock lock(mu_);
        wake_.wait(lock, [&] { return stopping_ || broken_ || outbox_.size() > 0; });
        if (stopping_ || broken_) break;
      }
      std::vector<Op> ops = outbox_.TakeFrame();
      if (ops.empty()) continue;
      v1::QueueFrame frame;
      for (Op& op : ops) *frame.add_ops() = std::move(op);
      if (!stream->Write(frame)) break;
      bool drained = false;
      {
        std::lock_guard lock(mu_);
        if (drained_wanted_ && outbox_.bytes() < kDrainedBytes) {
          drained_wanted_ = false;
          drained = true;
        }
      }
      if (drained) OnLoop([](Link& self) { self.Drained(); });
    }
    context.TryCancel();
    reader.join();
    stream->Finish();
    std::lock_guard lock(mu_);
    context_ = nullptr;
    return true;
  }

  RemoteQueues& owner_;
  const uint64_t home_;
  const std::string address_;
  PeerClient peer_;
  QueueOutbox outbox_;

  // Shared with the threads.
  std::mutex mu_;
  std::condition_variable wake_;
  grpc::ClientContext* context_ = nullptr;
  bool stopping_ = false;
  bool may_connect_ = true;
  bool broken_ = false;
  bool drained_wanted_ = false;
  std::thread thread_;

  // The loop's.
  bool open_ = false;
  uint64_t breaks_ = 0;  // streams that broke (or failed to open) so far
  int64_t down_until_ms_ = 0;
  std::map<uint64_t, Pending> pending_;
  std::map<uint64_t, core::RemoteConsumerSink*> consumers_;
  std::map<uint64_t, uint32_t> credits_;
  bool credit_flush_ = false;
  bool kick_scheduled_ = false;
  std::vector<std::function<void()>> drained_;
  int undecodable_ = 0;  // messages refused in the frame being handled
  std::string undecodable_why_;
};

RemoteQueues::RemoteQueues(RemoteQueuesOptions options, const Secret& secret, Runtime& runtime)
    : options_(std::move(options)), secret_(secret), runtime_(runtime) {}

RemoteQueues::~RemoteQueues() {
  std::map<uint64_t, std::shared_ptr<Link>> links;
  links.swap(links_);
  for (auto& [home, link] : links) link->Stop();
}

RemoteQueues::Link& RemoteQueues::LinkTo(uint64_t home) {
  std::string address = options_.resolve(home).first;
  auto it = links_.find(home);
  if (it != links_.end()) {
    if (it->second->address() == address) return *it->second;
    // Made before this member knew the address (a change forwarded the
    // moment a joiner learned its leader's id), or the member moved: a link
    // to the old address would fail forever. What waited on it fails now.
    std::shared_ptr<Link> old = std::move(it->second);
    links_.erase(it);
    old->Stop();
  }
  auto link = std::make_shared<Link>(*this, home, std::move(address));
  link->Start();
  return *links_.emplace(home, std::move(link)).first->second;
}

std::string RemoteQueues::NodeName(uint64_t home) const {
  std::string name = options_.resolve(home).second;
  return name.empty() ? "member " + std::to_string(home) : name;
}

std::vector<uint64_t> RemoteQueues::Members() const { return options_.members(); }

// A message over kMaxForwardedMessage does not fit the gRPC port's frame:
// logged, and not sent.
bool RemoteQueues::Forwardable(const core::Message& message) {
  if (message.body.size() + message.raw_properties.size() <= kMaxForwardedMessage) return true;
  spdlog::warn("cluster: a message of {} bytes is larger than another node takes",
               message.body.size());
  return false;
}

void RemoteQueues::Publish(uint64_t home, const std::string& vhost,
                           std::vector<std::string> queues, core::MessagePtr message,
                           std::function<void(bool)> done) {
  Op op;
  op.set_kind(Op::PUBLISH);
  op.set_vhost(vhost);
  for (std::string& q : queues) op.add_queues(std::move(q));
  SendHeld(home, std::move(op), *message, std::move(done));
}

void RemoteQueues::SendHeld(uint64_t member, Op op, const core::Message& message,
                            std::function<void(bool)> done) {
  Link::Pending pending;
  pending.published = std::move(done);
  if (!Forwardable(message)) {
    runtime_.ScheduleAfter(0, [done = std::move(pending.published)] { done(false); });
    return;
  }
  op.set_id(++next_id_);
  ToWire(message, *op.mutable_message());
  LinkTo(member).Send(std::move(op), std::move(pending));
}

void RemoteQueues::DirectReply(uint64_t member, core::MessagePtr message) {
  // Only to a member of the cluster: a key is what a client sent.
  std::vector<uint64_t> members = options_.members();
  if (std::find(members.begin(), members.end(), member) == members.end()) return;
  if (!Forwardable(*message)) return;
  Op op;
  op.set_kind(Op::DIRECT_REPLY);
  ToWire(*message, *op.mutable_message());
  LinkTo(member).Send(std::move(op), {});
}

void RemoteQueues::MirrorReset(uint64_t member, const std::string& vhost,
                               const std::string& queue, uint64_t epoch) {
  Op op;
  op.set_kind(Op::MIRROR_RESET);
  op.set_vhost(vhost);
  op.add_queues(queue);
  op.set_term(epoch);
  LinkTo(member).Send(std::move(op), {});
}

void RemoteQueues::MirrorEnter(uint64_t member, const std::string& vhost,
                               const std::string& queue, uint64_t seq, core::MessagePtr message,
                               std::function<void(bool)> held) {
  Op op;
  op.set_kind(Op::MIRROR_ENTER);
  op.set_vhost(vhost);
  op.add_queues(queue);
  op.set_delivery(seq);
  SendHeld(member, std::move(op), *message, std::move(held));
}

void RemoteQueues::MirrorLeave(uint64_t member, const std::string& vhost,
                               const std::string& queue, std::vector<uint64_t> seqs) {
  Op op;
  op.set_kind(Op::MIRROR_LEAVE);
  op.set_vhost(vhost);
  op.add_queues(queue);
  for (uint64_t s : seqs) op.add_deliveries(s);
  LinkTo(member).Send(std::move(op), {});
}

uint64_t RemoteQueues::Breaks(uint64_t member) { return LinkTo(member).breaks(); }

bool RemoteQueues::Refusing(uint64_t member) { return LinkTo(member).refusing(); }

bool RemoteQueues::Congested(uint64_t home) const {
  auto it = links_.find(home);
  return it != links_.end() && it->second->congested();
}

void RemoteQueues::WhenDrained(uint64_t home, std::function<void()> drained) {
  LinkTo(home).WhenDrained(std::move(drained));
}

void RemoteQueues::Consume(uint64_t home, core::RemoteConsume consume,
                           core::RemoteConsumerSink* sink,
                           std::function<void(uint64_t, Status)> done) {
  Op op;
  op.set_kind(Op::CONSUME);
  op.set_id(++next_id_);
  op.set_vhost(consume.vhost);
  op.add_queues(consume.queue);
  op.set_tag(consume.tag);
  op.set_no_ack(consume.no_ack);
  op.set_exclusive(consume.exclusive);
  op.set_priority(consume.priority);
  op.set_prefetch(consume.prefetch);
  if (!consume.arguments.empty()) amqp::EncodeTable(consume.arguments, *op.mutable_arguments());
  op.set_connection(consume.connection);
  Link::Pending pending;
  pending.consumed = std::move(done);
  pending.sink = sink;
  LinkTo(home).Send(std::move(op), std::move(pending));
}

void RemoteQueues::Credit(uint64_t home, uint64_t consumer, uint32_t count) {
  if (auto it = links_.find(home); it != links_.end()) it->second->Credit(consumer, count);
}

void RemoteQueues::Cancel(uint64_t home, uint64_t consumer) {
  if (auto it = links_.find(home); it != links_.end()) it->second->Cancel(consumer);
}

void RemoteQueues::Settle(uint64_t home, uint64_t consumer, core::SettleKind kind,
                          std::vector<uint64_t> deliveries) {
  if (auto it = links_.find(home); it != links_.end())
    it->second->Settle(consumer, kind, std::move(deliveries));
}

void RemoteQueues::Request(uint64_t home, const std::string& vhost, const std::string& queue,
                           int kind, bool no_ack, uint64_t connection, Reply done) {
  Op op;
  op.set_kind(static_cast<Op::Kind>(kind));
  op.set_id(++next_id_);
  op.set_vhost(vhost);
  op.add_queues(queue);
  op.set_no_ack(no_ack);
  op.set_connection(connection);
  Link::Pending pending;
  pending.reply = std::move(done);
  LinkTo(home).Send(std::move(op), std::move(pending));
}

void RemoteQueues::Census(uint64_t member, const std::string& vhost, const std::string& user,
                          Reply done) {
  Op op;
  op.set_kind(Op::CENSUS);
  op.set_id(++next_id_);
  op.set_vhost(vhost);
  op.set_user(user);
  Link::Pending pending;
  pending.reply = std::move(done);
  LinkTo(member).Send(std::move(op), std::move(pending));
}

void RemoteQueues::Renew(raft::NodeId leader, std::function<void(bool, uint64_t)> done) {
  Op op;
  op.set_kind(Op::LEASE);
  op.set_id(++next_id_);
  Link::Pending pending;
  pending.reply = [done = std::move(done)](core::RemoteReply r) {
    done(r.status.ok(), r.index);
  };
  LinkTo(leader).Send(std::move(op), std::move(pending));
}

void RemoteQueues::Forward(raft::NodeId leader, std::string command,
                           std::function<void(ForwardResult)> done) {
  Op op;
  op.set_kind(Op::PROPOSE);
  op.set_id(++next_id_);
  op.set_command(std::move(command));
  Link::Pending pending;
  pending.proposed = std::move(done);
  LinkTo(leader).Send(std::move(op), std::move(pending));
}

void RemoteQueues::Get(uint64_t home, const std::string& vhost, const std::string& queue,
                       bool no_ack, uint64_t connection, Reply done) {
  Request(home, vhost, queue, Op::GET, no_ack, connection, std::move(done));
}

void RemoteQueues::Purge(uint64_t home, const std::string& vhost, const std::string& queue,
                         uint64_t connection, Reply done) {
  Request(home, vhost, queue, Op::PURGE, false, connection, std::move(done));
}

void RemoteQueues::SyncMirrors(uint64_t home, const std::string& vhost, const std::string& queue,
                               bool cancel, Reply done) {
  Request(home, vhost, queue, cancel ? Op::CANCEL_SYNC : Op::SYNC_MIRRORS, false, 0,
          std::move(done));
}

void RemoteQueues::Stat(uint64_t home, const std::string& vhost, const std::string& queue,
                        uint64_t connection, Reply done) {
  Request(home, vhost, queue, Op::STAT, false, connection, std::move(done));
}

}  // namespace warren::cluster
