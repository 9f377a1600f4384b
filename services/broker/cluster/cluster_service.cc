#include "broker/cluster/cluster_service.h"

#include <chrono>
#include <string_view>

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "broker/cluster/handshake.h"
#include "broker/cluster/secret.h"
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

class Service final : public v1::Cluster::CallbackService {
 public:
  Service(const Secret& secret, std::string node) : secret_(secret), node_(std::move(node)) {}

  grpc::ServerUnaryReactor* Hello(grpc::CallbackServerContext* context,
                                  const v1::HelloRequest* request,
                                  v1::HelloResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
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

  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* context, const v1::PingRequest*,
                                 v1::PingResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    grpc::Status status = Authenticate(context, kPingMethod);
    if (status.ok()) response->set_node(node_);
    reactor->Finish(status);
    return reactor;
  }

 private:
  grpc::Status Authenticate(const grpc::CallbackServerContext* context, std::string_view method) {
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
    return grpc::Status::OK;
  }

  grpc::Status Refuse(const grpc::CallbackServerContext* context, std::string_view method,
                      const std::string& caller, const std::string& why) {
    spdlog::warn("cluster: refused {} from {}{}: {}", method, LogSafe(context->peer()),
                 caller.empty() ? "" : " (node " + LogSafe(caller) + ")", why);
    return {grpc::StatusCode::UNAUTHENTICATED, "refused by " + node_ + ": " + why};
  }

  const Secret& secret_;
  const std::string node_;
  SessionTable sessions_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeClusterService(const Secret& secret, std::string node) {
  return std::make_unique<Service>(secret, std::move(node));
}

struct PeerClient::Impl {
  std::string address;
  Secret secret;
  std::string self;
  std::chrono::milliseconds timeout;
  std::unique_ptr<v1::Cluster::Stub> stub;

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
      spdlog::warn("cluster: refused node {} at {}: it holds another cluster secret",
                   LogSafe(answer.node()), LogSafe(address));
      return {grpc::StatusCode::UNAUTHENTICATED,
              "node " + Printable(answer.node()) + " at " + address +
                  " holds another cluster secret"};
    }
    std::string proof =
        secret.Prove(ClientTranscript(mine, answer.challenge(), self, answer.node(), method));
    context.AddMetadata(kSessionKey, ToHex(answer.challenge()));
    context.AddMetadata(kProofKey, ToHex(proof));
    return grpc::Status::OK;
  }
};

PeerClient::PeerClient(const std::string& address, const Secret& secret, std::string self,
                       int64_t timeout_ms)
    : impl_(new Impl{address, secret, std::move(self), std::chrono::milliseconds(timeout_ms), {}}) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);  // peers are reached directly
  impl_->stub = v1::Cluster::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
}

PeerClient::~PeerClient() = default;

grpc::Status PeerClient::Ping(std::string& node) {
  grpc::ClientContext context;
  if (grpc::Status s = impl_->Authenticate(context, kPingMethod); !s.ok()) return s;
  impl_->Deadline(context);
  v1::PingResponse response;
  grpc::Status status = impl_->stub->Ping(&context, v1::PingRequest{}, &response);
  if (status.ok()) node = response.node();
  return status;
}

}  // namespace warren::cluster
