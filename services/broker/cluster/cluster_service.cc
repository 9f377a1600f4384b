#include "broker/cluster/cluster_service.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "broker/cluster/handshake.h"
#include "broker/cluster/queue_wire.h"
#include "broker/cluster/secret.h"
#include "raft/codec.h"
#include "common/grpc_tls.h"
#include "common/text.h"
#include "warren/v1/cluster.grpc.pb.h"

namespace warren::cluster {
namespace {

namespace v1 = ::warren::v1;

constexpr size_t kMaxNodeName = 255;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Metadata(const grpc::CallbackServerContext* context, const char* key) {
  auto it = context->client_metadata().find(key);
  if (it == context->client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// Reads one peer's Raft stream into the inbox until the peer ends it, one
// batch at a time: the next read starts once the inbox says the last batch
// was handled (RaftInbox), so what waits for the node's loop is bounded by
// one batch per peer.
class RaftReader final : public grpc::ServerReadReactor<v1::RaftBatch> {
 public:
  RaftReader(const RaftInbox& inbox, std::string from)
      : inbox_(inbox), from_(std::move(from)), gate_(std::make_shared<Gate>()) {
    gate_->reader = this;
    StartRead(&batch_);
  }
  void OnReadDone(bool ok) override {
    if (!ok) {
      End();
      return;
    }
    std::vector<std::string> messages(std::make_move_iterator(batch_.mutable_messages()->begin()),
                                      std::make_move_iterator(batch_.mutable_messages()->end()));
    batch_.Clear();
    inbox_(from_, std::move(messages), [gate = gate_] { gate->Next(); });
  }
  // The peer went while no read was outstanding (one was, and it fails).
  void OnCancel() override { End(); }
  void OnDone() override {
    {
      std::lock_guard lock(gate_->mu);
      gate_->reader = nullptr;
    }
    delete this;
  }

 private:
  // Shared with the inbox's `handled`, which may come after the stream ended.
  struct Gate {
    std::mutex mu;
    RaftReader* reader = nullptr;  // until OnDone
    bool finished = false;
    void Next() {
      std::lock_guard lock(mu);
      if (reader && !finished) reader->StartRead(&reader->batch_);
    }
  };

  void End() {
    std::lock_guard lock(gate_->mu);
    if (gate_->finished) return;
    gate_->finished = true;
    Finish(grpc::Status::OK);
  }

  const RaftInbox& inbox_;
  const std::string from_;
  v1::RaftBatch batch_;
  std::shared_ptr<Gate> gate_;
};

// A stream refused before anything is read.
class RefusedStream final : public grpc::ServerReadReactor<v1::RaftBatch> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

// A caller's Queues stream: frames in go to the handler one at a time (the
// next is read when the loop asks, HomeLink::ReadNext); ops out are written
// as the loop sends them (HomeLink::Send).
class QueueStream final : public grpc::ServerBidiReactor<v1::QueueFrame, v1::QueueFrame> {
 public:
  QueueStream(const QueuesHandler& handler, std::string caller)
      : handler_(handler), link_(std::make_shared<HomeLink>(std::move(caller))) {
    link_->Attach(this, &in_);
    link_->ReadNext();
  }
  void OnReadDone(bool ok) override {
    if (!ok) {
      link_->End();
      handler_(link_, nullptr);
      return;
    }
    auto frame = std::make_shared<v1::QueueFrame>(std::move(in_));
    in_.Clear();
    handler_(link_, std::move(frame));
  }
  void OnWriteDone(bool ok) override { link_->WriteDone(ok); }
  void OnDone() override {
    link_->Detach();
    delete this;
  }

 private:
  const QueuesHandler& handler_;
  std::shared_ptr<HomeLink> link_;
  v1::QueueFrame in_;
};

class RefusedQueueStream final : public grpc::ServerBidiReactor<v1::QueueFrame, v1::QueueFrame> {
 public:
  explicit RefusedQueueStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

class Service final : public v1::Cluster::CallbackService {
 public:
  Service(const Secret& secret, std::string node, ClusterHandlers handlers)
      : secret_(secret), node_(std::move(node)), handlers_(std::move(handlers)) {}

  grpc::ServerUnaryReactor* Hello(grpc::CallbackServerContext* context,
                                  const v1::HelloRequest* request,
                                  v1::HelloResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (grpc::Status s = CheckCertificate(context, kHelloMethod); !s.ok()) {
      reactor->Finish(s);
      return reactor;
    }
    if (request->challenge().size() != kChallengeSize || request->from_node().empty() ||
        request->from_node().size() > kMaxNodeName) {
      reactor->Finish({grpc::StatusCode::INVALID_ARGUMENT,
                       "a hello needs a 32-byte challenge and a node name of 1 to 255 bytes"});
      return reactor;
    }
    std::string challenge = sessions_.Open(request->challenge(), request->from_node(), NowMs());
    response->set_proof(
        secret_.Prove(ServerTranscript(request->challenge(), challenge, request->from_node(), node_)));
    response->set_challenge(std::move(challenge));
    response->set_node(node_);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* context,
                                 const v1::PingRequest* request,
                                 v1::PingResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    std::string caller;
    grpc::Status status = Authenticate(context, kPingMethod, caller);
    if (status.ok()) {
      response->set_node(node_);
      PingState state =
          handlers_.state ? handlers_.state(request->member()) : PingState{true, 0, false};
      response->set_running(state.running);
      response->set_member(state.member);
      response->set_knows_caller(state.knows_caller);
    }
    reactor->Finish(status);
    return reactor;
  }

  grpc::ServerReadReactor<v1::RaftBatch>* Raft(grpc::CallbackServerContext* context,
                                               v1::RaftBatchAck*) override {
    std::string caller;
    grpc::Status status = Authenticate(context, kRaftMethod, caller);
    if (!status.ok()) return new RefusedStream(status);
    if (!handlers_.inbox)
      return new RefusedStream({grpc::StatusCode::UNAVAILABLE, node_ + " runs no Raft group"});
    return new RaftReader(handlers_.inbox, std::move(caller));
  }

  grpc::ServerUnaryReactor* Propose(grpc::CallbackServerContext* context,
                                    const v1::ProposeRequest* request,
                                    v1::ProposeResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    std::string caller;
    grpc::Status status = Authenticate(context, kProposeMethod, caller);
    if (!status.ok()) {
      reactor->Finish(status);
      return reactor;
    }
    if (!handlers_.propose) {
      reactor->Finish({grpc::StatusCode::UNAVAILABLE, node_ + " runs no Raft group"});
      return reactor;
    }
    // The reply comes from the node's loop; the call stays open until then.
    handlers_.propose(request->command(), [reactor, response](ForwardResult r) {
      response->set_index(r.index);
      response->set_term(r.term);
      response->set_appended(r.appended);
      if (!r.outcome.status.ok()) {
        response->set_code(r.outcome.status.error().code);
        response->set_text(r.outcome.status.error().text);
      }
      response->set_message_count(r.outcome.message_count);
      response->set_consumer_count(r.outcome.consumer_count);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  grpc::ServerUnaryReactor* ChangeMembers(grpc::CallbackServerContext* context,
                                          const v1::MembersRequest* request,
                                          v1::MembersResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    std::string caller;
    grpc::Status status = Authenticate(context, kMembersMethod, caller);
    if (!status.ok()) {
      reactor->Finish(status);
      return reactor;
    }
    if (!handlers_.members) {
      reactor->Finish({grpc::StatusCode::UNAVAILABLE, node_ + " takes no change of members"});
      return reactor;
    }
    if (request->address().size() > kMaxGrpcAddress || request->node().size() > kMaxNodeName) {
      reactor->Finish({grpc::StatusCode::INVALID_ARGUMENT, "address or node name too long"});
      return reactor;
    }
    MembersChange change;
    change.kind = request->kind() == v1::MembersRequest::REMOVE ? MembersChange::Kind::kRemove
                                                                : MembersChange::Kind::kAdd;
    change.address = request->address();
    change.node = request->node();
    change.id = request->id();
    handlers_.members(std::move(change), [reactor, response](MembersResult r) {
      if (!r.status.ok()) {
        response->set_code(r.status.error().code == 0 ? 500 : r.status.error().code);
        response->set_text(r.status.error().text);
      }
      response->set_id(r.id);
      response->set_already_member(r.already_member);
      response->set_leader(r.leader);
      for (const auto& [id, address] : r.members) (*response->mutable_members())[id] = address;
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  grpc::ServerBidiReactor<v1::QueueFrame, v1::QueueFrame>* Queues(
      grpc::CallbackServerContext* context) override {
    std::string caller;
    grpc::Status status = Authenticate(context, kQueuesMethod, caller);
    if (!status.ok()) return new RefusedQueueStream(status);
    if (!handlers_.queues)
      return new RefusedQueueStream({grpc::StatusCode::UNAVAILABLE, node_ + " homes no queues"});
    return new QueueStream(handlers_.queues, std::move(caller));
  }

 private:
  // OK when the call carries a proof for `method` made in an open session;
  // then `caller` is the node that opened it.
  grpc::Status Authenticate(const grpc::CallbackServerContext* context, std::string_view method,
                            std::string& caller) {
    if (grpc::Status s = CheckCertificate(context, method); !s.ok()) return s;
    std::optional<std::string> challenge = FromHex(Metadata(context, kSessionKey));
    std::optional<std::string> proof = FromHex(Metadata(context, kProofKey));
    if (!challenge || !proof || challenge->empty())
      return Refuse(context, method, "", "no cluster handshake");
    std::optional<SessionTable::Session> session = sessions_.Take(*challenge, NowMs());
    if (!session) return Refuse(context, method, "", "unknown, used or expired cluster session");
    std::string transcript =
        ClientTranscript(session->client_challenge, *challenge, session->caller, node_, method);
    if (!secret_.Verify(transcript, *proof))
      return Refuse(context, method, session->caller, "it holds another cluster secret");
    caller = std::move(session->caller);
    return grpc::Status::OK;
  }

  // With TLS between nodes, a peer proves itself by its certificate too.
  grpc::Status CheckCertificate(const grpc::CallbackServerContext* context,
                                std::string_view method) {
    if (!secret_.RequiresPeerCertificate()) return grpc::Status::OK;
    std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
    if (auth && tls::PeerCertified(*auth)) return grpc::Status::OK;
    return Refuse(context, method, "", "no client certificate signed by the cluster's CA");
  }

  grpc::Status Refuse(const grpc::CallbackServerContext* context, std::string_view method,
                      const std::string& caller, const std::string& why) {
    spdlog::warn("cluster: refused {} from {}{}: {}", method, LogSafe(context->peer()),
                 caller.empty() ? "" : " (node " + LogSafe(caller) + ")", why);
    return {grpc::StatusCode::UNAUTHENTICATED, "refused by " + node_ + ": " + why};
  }

  const Secret secret_;
  const std::string node_;
  const ClusterHandlers handlers_;
  SessionTable sessions_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeClusterService(const Secret& secret, std::string node,
                                                  ClusterHandlers handlers) {
  return std::make_unique<Service>(secret, std::move(node), std::move(handlers));
}

void HomeLink::Send(v1::QueueOp op) { outbox_.Push(std::move(op)); }

void HomeLink::Flush() {
  std::lock_guard lock(mu_);
  StartWriteLocked();
}

void HomeLink::ReadNext() {
  std::lock_guard lock(mu_);
  if (reactor_ && !ending_ && !finished_) reactor_->StartRead(in_);
}

void HomeLink::Attach(Reactor* reactor, v1::QueueFrame* in) {
  std::lock_guard lock(mu_);
  reactor_ = reactor;
  in_ = in;
}

void HomeLink::WriteDone(bool ok) {
  std::lock_guard lock(mu_);
  writing_ = false;
  if (!ok) {
    // The caller is gone; the read side ends too and says so.
    outbox_.Close();
    ending_ = true;
  }
  if (ending_) FinishLocked();
  else StartWriteLocked();
}

void HomeLink::End() {
  std::lock_guard lock(mu_);
  ending_ = true;
  outbox_.Close();
  if (!writing_) FinishLocked();
}

void HomeLink::Detach() {
  std::lock_guard lock(mu_);
  reactor_ = nullptr;
  finished_ = true;
  outbox_.Close();
}

void HomeLink::StartWriteLocked() {
  if (!reactor_ || writing_ || ending_ || finished_) return;
  std::vector<v1::QueueOp> ops = outbox_.TakeFrame();
  if (ops.empty()) return;
  out_.Clear();
  for (v1::QueueOp& op : ops) *out_.add_ops() = std::move(op);
  writing_ = true;
  reactor_->StartWrite(&out_);
}

void HomeLink::FinishLocked() {
  if (finished_ || !reactor_) return;
  finished_ = true;
  reactor_->Finish(grpc::Status::OK);
}

struct PeerClient::Impl {
  std::string address;
  Secret secret;
  std::string self;
  std::chrono::milliseconds timeout;
  std::unique_ptr<v1::Cluster::Stub> stub;
  // The refusal is logged once, not at every reconnection (RaftSender
  // retries every 2 s), until the peer is accepted again.
  bool refusal_logged = false;
  std::string peer_name;  // as the last verified handshake gave it

  void Deadline(grpc::ClientContext& context) const {
    context.set_deadline(std::chrono::system_clock::now() + timeout);
  }

  // Hello, then the metadata that lets `context` make one call of `method`.
  grpc::Status Authenticate(grpc::ClientContext& context, std::string_view method) {
    v1::HelloRequest hello;
    std::string mine = RandomChallenge();
    hello.set_challenge(mine);
    hello.set_from_node(self);
    v1::HelloResponse answer;
    grpc::ClientContext hello_context;
    Deadline(hello_context);
    grpc::Status status = stub->Hello(&hello_context, hello, &answer);
    if (!status.ok()) return status;
    std::string transcript = ServerTranscript(mine, answer.challenge(), self, answer.node());
    if (!secret.Verify(transcript, answer.proof())) {
      if (!refusal_logged)
        spdlog::warn("cluster: refused node {} at {}: it holds another cluster secret",
                     LogSafe(answer.node()), LogSafe(address));
      refusal_logged = true;
      return {grpc::StatusCode::UNAUTHENTICATED,
              "node " + Printable(answer.node()) + " at " + address +
                  " holds another cluster secret"};
    }
    std::string proof =
        secret.Prove(ClientTranscript(mine, answer.challenge(), self, answer.node(), method));
    refusal_logged = false;
    peer_name = answer.node();
    context.AddMetadata(kSessionKey, ToHex(answer.challenge()));
    context.AddMetadata(kProofKey, ToHex(proof));
    return grpc::Status::OK;
  }
};

PeerClient::PeerClient(const std::string& address, const Secret& secret, std::string self,
                       int64_t timeout_ms)
    : impl_(new Impl{address, secret, std::move(self), std::chrono::milliseconds(timeout_ms), {},
                     false, {}}) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);  // peers are reached directly
  // A peer that stops answering on a stream that stays open (Queues) is
  // noticed within seconds, not when TCP gives up.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 3000);
  args.SetMaxReceiveMessageSize(64 << 20);  // as the gRPC port takes (admin_server.cc)
  impl_->stub = v1::Cluster::NewStub(
      grpc::CreateCustomChannel(address, secret.ChannelCredentials(), args));
}

PeerClient::~PeerClient() = default;

grpc::Status PeerClient::Ping(std::string& node) {
  PingState state;
  return Ping(node, state);
}

grpc::Status PeerClient::Ping(std::string& node, PingState& state, uint64_t member) {
  grpc::ClientContext context;
  if (grpc::Status s = impl_->Authenticate(context, kPingMethod); !s.ok()) return s;
  impl_->Deadline(context);
  v1::PingRequest request;
  request.set_member(member);
  v1::PingResponse response;
  grpc::Status status = impl_->stub->Ping(&context, request, &response);
  if (status.ok()) {
    node = response.node();
    state = {response.running(), response.member(), response.knows_caller()};
  }
  return status;
}

grpc::Status PeerClient::ChangeMembers(const MembersChange& change, MembersResult& result) {
  grpc::ClientContext context;
  if (grpc::Status s = impl_->Authenticate(context, kMembersMethod); !s.ok()) return s;
  impl_->Deadline(context);
  v1::MembersRequest request;
  request.set_kind(change.kind == MembersChange::Kind::kRemove ? v1::MembersRequest::REMOVE
                                                               : v1::MembersRequest::ADD);
  request.set_address(change.address);
  request.set_node(change.node);
  request.set_id(change.id);
  v1::MembersResponse response;
  grpc::Status status = impl_->stub->ChangeMembers(&context, request, &response);
  if (!status.ok()) return status;
  result.status = response.code() == 0
                      ? Status::Ok()
                      : Status(Error{static_cast<uint16_t>(std::min<uint32_t>(response.code(), 599)),
                                     Printable(response.text())});
  result.id = response.id();
  result.already_member = response.already_member();
  result.leader = response.leader();
  if (response.members_size() > static_cast<int>(raft::kMaxMembers))
    return {grpc::StatusCode::INTERNAL, "too many members in the answer"};
  for (const auto& [id, address] : response.members())
    if (address.size() <= raft::kMaxAddressBytes) result.members[id] = address;
  return status;
}

grpc::Status PeerClient::Propose(const std::string& command, ForwardResult& result) {
  grpc::ClientContext context;
  if (grpc::Status s = impl_->Authenticate(context, kProposeMethod); !s.ok()) return s;
  impl_->Deadline(context);
  v1::ProposeRequest request;
  request.set_command(command);
  v1::ProposeResponse response;
  grpc::Status status = impl_->stub->Propose(&context, request, &response);
  if (!status.ok()) return status;
  if (response.code() > 0xFFFF || (response.index() == 0 && response.code() == 0))
    return {grpc::StatusCode::INTERNAL, "the answer to Propose from " + impl_->address +
                                            " is neither an outcome nor a refusal"};
  result.index = response.index();
  result.term = response.term();
  result.appended = response.appended() && response.code() == 0;
  result.outcome.status = response.code() == 0
                              ? Status::Ok()
                              : Status(Error{static_cast<uint16_t>(response.code()), response.text()});
  result.outcome.message_count = response.message_count();
  result.outcome.consumer_count = response.consumer_count();
  return status;
}

std::unique_ptr<PeerClient::QueueStreamClient> PeerClient::OpenQueues(
    grpc::ClientContext& context, grpc::Status& status) {
  status = impl_->Authenticate(context, kQueuesMethod);
  if (!status.ok()) return nullptr;
  std::unique_ptr<QueueStreamClient> stream = impl_->stub->Queues(&context);
  if (!stream) status = {grpc::StatusCode::UNAVAILABLE, "the Queues stream did not open"};
  return stream;
}

struct RaftSender::State {
  PeerClient peer;
  std::mutex mu;
  std::condition_variable wake;
  std::deque<std::string> queue;
  grpc::ClientContext* open = nullptr;  // the stream's context, to cancel it
  bool stopping = false;
  uint64_t dropped = 0;
  std::thread thread;

  std::function<void(const std::string&)> learned;

  State(const std::string& address, const Secret& secret, std::string self,
        std::function<void(const std::string&)> on_name)
      : peer(address, secret, std::move(self)), learned(std::move(on_name)) {}

  // Streams queued messages until the stream breaks or the sender stops;
  // false when it could not open.
  bool Stream() {
    grpc::ClientContext context;
    if (!peer.impl_->Authenticate(context, kRaftMethod).ok()) return false;
    if (learned) learned(peer.impl_->peer_name);
    v1::RaftBatchAck ack;
    std::unique_ptr<grpc::ClientWriter<v1::RaftBatch>> writer = peer.impl_->stub->Raft(&context, &ack);
    {
      std::lock_guard lock(mu);
      if (stopping) {
        context.TryCancel();
        return true;
      }
      open = &context;
    }
    for (;;) {
      v1::RaftBatch batch;
      {
        std::unique_lock lock(mu);
        wake.wait(lock, [&] { return stopping || !queue.empty(); });
        if (stopping) break;
        while (!queue.empty() && batch.messages_size() < 256) {
          batch.add_messages(std::move(queue.front()));
          queue.pop_front();
        }
      }
      if (!writer->Write(batch)) {
        std::lock_guard lock(mu);
        dropped += static_cast<uint64_t>(batch.messages_size());
        break;
      }
    }
    {
      std::lock_guard lock(mu);
      open = nullptr;
    }
    writer->WritesDone();
    writer->Finish();
    return true;
  }

  void Run() {
    auto backoff = std::chrono::milliseconds(100);
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (stopping) return;
      }
      if (Stream()) backoff = std::chrono::milliseconds(100);
      std::unique_lock lock(mu);
      // A retry interval, not a synchronisation: the peer is down or refused.
      wake.wait_for(lock, backoff, [&] { return stopping; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }
};

RaftSender::RaftSender(const std::string& address, const Secret& secret, std::string self,
                       std::function<void(const std::string&)> learned)
    : state_(std::make_unique<State>(address, secret, std::move(self), std::move(learned))) {
  state_->thread = std::thread([s = state_.get()] { s->Run(); });
}

RaftSender::~RaftSender() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
    if (state_->open) state_->open->TryCancel();
  }
  state_->wake.notify_all();
  state_->thread.join();
}

void RaftSender::Send(std::string message) {
  {
    std::lock_guard lock(state_->mu);
    if (state_->queue.size() >= kMaxQueued) {
      ++state_->dropped;
      return;
    }
    state_->queue.push_back(std::move(message));
  }
  state_->wake.notify_one();
}

uint64_t RaftSender::dropped() const {
  std::lock_guard lock(state_->mu);
  return state_->dropped;
}

}  // namespace warren::cluster
