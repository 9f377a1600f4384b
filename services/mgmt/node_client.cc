#include "mgmt/node_client.h"

#include <google/protobuf/descriptor.h>

#include "common/grpc_tls.h"
#include "common/log.h"
#include "common/text.h"

namespace warren::mgmt {

NodeClient::NodeClient(const std::vector<std::string>& nodes, double timeout_seconds,
                       const tls::Settings& tls)
    : names_(nodes),
      timeout_(static_cast<int64_t>(timeout_seconds * 1000)) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = tls::GrpcChannelCredentials(tls);
  for (const auto& node : nodes) {
    // Nodes are reached directly: an http_proxy meant for web traffic would
    // otherwise turn "node down" into a proxy's error.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
    args.SetMaxReceiveMessageSize(256 << 20);  // listings of many queues
    stubs_.push_back(v1::Admin::NewStub(
        grpc::CreateCustomChannel(node, credentials, args)));
  }
}

bool NodeClient::Begin(grpc::ClientContext* context) {
  std::lock_guard lock(mu_);
  if (stopped_) return false;
  in_flight_.insert(context);
  return true;
}

void NodeClient::End(grpc::ClientContext* context) {
  std::lock_guard lock(mu_);
  in_flight_.erase(context);
}

void NodeClient::Shutdown() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  for (grpc::ClientContext* c : in_flight_) c->TryCancel();
}

grpc::Status NodeClient::Stopping() {
  return {grpc::StatusCode::UNAVAILABLE, "warren-mgmt is stopping"};
}

std::string NodeClient::NotUtf8(const google::protobuf::Message& message) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(message, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      const int n = f->is_repeated() ? r->FieldSize(message, f) : 1;
      for (int i = 0; i < n; ++i) {
        std::string value = f->is_repeated() ? r->GetRepeatedString(message, f, i)
                                             : r->GetString(message, f);
        if (!IsUtf8(value)) return std::string(f->name());
      }
    } else if (f->type() == FieldDescriptor::TYPE_MESSAGE) {
      const int n = f->is_repeated() ? r->FieldSize(message, f) : 1;
      for (int i = 0; i < n; ++i) {
        std::string inner = NotUtf8(f->is_repeated() ? r->GetRepeatedMessage(message, f, i)
                                                      : r->GetMessage(message, f));
        if (!inner.empty()) return std::string(f->name()) + "." + inner;
      }
    }
  }
  return "";
}

void NodeClient::Skipped(size_t node, const grpc::Status& status) const {
  spdlog::warn("node {} unreachable ({}); trying the next", names_[node],
               LogSafe(status.error_message()));
}

}  // namespace warren::mgmt
