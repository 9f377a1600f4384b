// The Admin service's handlers (admin.proto). Internal to admin/: the Node
// sees only AdminServer. Handlers are split by topic: admin_access.cc
// (users, vhosts, permissions), admin_policies.cc, admin_listings.cc,
// admin_node.cc (status, cluster status, overview, definitions). Each authenticates,
// authorizes by tags and does its work in one Run() on the node's loop.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "broker/admin/admin_server.h"
#include "broker/core/broker.h"
#include "broker/core/command.h"
#include "common/status.h"
#include "warren/v1/admin.grpc.pb.h"

namespace warren::admin {

namespace v1 = ::warren::v1;

// What a call needs of its caller's tags (RabbitMQ's management tags):
// administrator does everything; monitoring reads everything; policymaker
// manages policies in its vhosts; management reads and purges in its vhosts.
enum class Need { kAdministrator, kMonitoring, kPolicymaker, kManagement };

struct Caller {
  std::string user;
  std::vector<std::string> tags;
  bool has(std::string_view tag) const;
  // May read objects of any vhost (administrator, monitoring).
  bool sees_all() const { return has("administrator") || has("monitoring"); }
};

// An error from the model as a gRPC status: 404 NOT_FOUND, 403
// PERMISSION_DENIED, 405 FAILED_PRECONDITION, 406 and the rest
// INVALID_ARGUMENT; the text without its "NOT_FOUND - " prefix.
grpc::Status ToGrpc(const Error& error);
grpc::Status ToGrpc(const Status& status);
grpc::Status NotFound(const std::string& text);
grpc::Status Invalid(const std::string& text);
grpc::Status NoQueue(const std::string& name, const std::string& vhost);
grpc::Status NoVHost(const std::string& name);
grpc::Status NoUser(const std::string& name);
// The vhost a request names; "/" when it names none.
inline std::string VHostOf(const std::string& name) { return name.empty() ? "/" : name; }
// Binding.properties_key (admin.proto) of a routing key and arguments.
std::string PropertiesKey(const std::string& routing_key, const amqp::FieldTable& arguments);

class AdminService final : public v1::Admin::Service {
 public:
  explicit AdminService(AdminContext& context) : ctx_(context) {}

  grpc::Status AddUser(grpc::ServerContext*, const v1::AddUserRequest*, v1::Empty*) override;
  grpc::Status DeleteUser(grpc::ServerContext*, const v1::UserRef*, v1::Empty*) override;
  grpc::Status ChangePassword(grpc::ServerContext*, const v1::ChangePasswordRequest*,
                              v1::Empty*) override;
  grpc::Status AuthenticateUser(grpc::ServerContext*, const v1::AuthenticateUserRequest*,
                                v1::Empty*) override;
  grpc::Status SetUserTags(grpc::ServerContext*, const v1::SetUserTagsRequest*,
                           v1::Empty*) override;
  grpc::Status ListUsers(grpc::ServerContext*, const v1::Empty*, v1::ListUsersResponse*) override;

  grpc::Status AddVHost(grpc::ServerContext*, const v1::AddVHostRequest*, v1::Empty*) override;
  grpc::Status DeleteVHost(grpc::ServerContext*, const v1::VHostRef*, v1::Empty*) override;
  grpc::Status ListVHosts(grpc::ServerContext*, const v1::Empty*,
                          v1::ListVHostsResponse*) override;

  grpc::Status SetPermissions(grpc::ServerContext*, const v1::Permission*, v1::Empty*) override;
  grpc::Status ClearPermissions(grpc::ServerContext*, const v1::ClearPermissionsRequest*,
                                v1::Empty*) override;
  grpc::Status ListPermissions(grpc::ServerContext*, const v1::VHostRef*,
                               v1::ListPermissionsResponse*) override;
  grpc::Status ListUserPermissions(grpc::ServerContext*, const v1::UserRef*,
                                   v1::ListPermissionsResponse*) override;
  grpc::Status SetTopicPermission(grpc::ServerContext*, const v1::TopicPermission*,
                                  v1::Empty*) override;
  grpc::Status ClearTopicPermissions(grpc::ServerContext*, const v1::ClearTopicPermissionsRequest*,
                                     v1::Empty*) override;
  grpc::Status ListTopicPermissions(grpc::ServerContext*, const v1::ListTopicPermissionsRequest*,
                                    v1::ListTopicPermissionsResponse*) override;
  grpc::Status SetUserLimits(grpc::ServerContext*, const v1::UserLimits*, v1::Empty*) override;
  grpc::Status ClearUserLimits(grpc::ServerContext*, const v1::ClearUserLimitsRequest*,
                               v1::Empty*) override;
  grpc::Status ListUserLimits(grpc::ServerContext*, const v1::UserRef*,
                              v1::ListUserLimitsResponse*) override;

  grpc::Status SetPolicy(grpc::ServerContext*, const v1::Policy*, v1::Empty*) override;
  grpc::Status ClearPolicy(grpc::ServerContext*, const v1::PolicyRef*, v1::Empty*) override;
  grpc::Status ListPolicies(grpc::ServerContext*, const v1::VHostRef*,
                            v1::ListPoliciesResponse*) override;
  grpc::Status SetOperatorPolicy(grpc::ServerContext*, const v1::Policy*, v1::Empty*) override;
  grpc::Status ClearOperatorPolicy(grpc::ServerContext*, const v1::PolicyRef*,
                                   v1::Empty*) override;
  grpc::Status ListOperatorPolicies(grpc::ServerContext*, const v1::VHostRef*,
                                    v1::ListPoliciesResponse*) override;
  grpc::Status SetParameter(grpc::ServerContext*, const v1::Parameter*, v1::Empty*) override;
  grpc::Status ClearParameter(grpc::ServerContext*, const v1::ParameterRef*, v1::Empty*) override;
  grpc::Status ListParameters(grpc::ServerContext*, const v1::ListParametersRequest*,
                              v1::ListParametersResponse*) override;

  grpc::Status ListQueues(grpc::ServerContext*, const v1::ListRequest*,
                          v1::ListQueuesResponse*) override;
  grpc::Status ListExchanges(grpc::ServerContext*, const v1::ListRequest*,
                             v1::ListExchangesResponse*) override;
  grpc::Status ListBindings(grpc::ServerContext*, const v1::ListRequest*,
                            v1::ListBindingsResponse*) override;
  grpc::Status ListConnections(grpc::ServerContext*, const v1::ListRequest*,
                               v1::ListConnectionsResponse*) override;
  grpc::Status ListChannels(grpc::ServerContext*, const v1::ListRequest*,
                            v1::ListChannelsResponse*) override;
  grpc::Status ListConsumers(grpc::ServerContext*, const v1::ListRequest*,
                             v1::ListConsumersResponse*) override;
  grpc::Status PurgeQueue(grpc::ServerContext*, const v1::QueueRef*,
                          v1::PurgeQueueResponse*) override;
  grpc::Status SyncQueue(grpc::ServerContext*, const v1::SyncQueueRequest*, v1::Empty*) override;
  grpc::Status DeleteQueue(grpc::ServerContext*, const v1::DeleteQueueRequest*,
                           v1::DeleteQueueResponse*) override;
  grpc::Status CloseConnection(grpc::ServerContext*, const v1::CloseConnectionRequest*,
                               v1::Empty*) override;

  grpc::Status Status(grpc::ServerContext*, const v1::Empty*, v1::StatusResponse*) override;
  grpc::Status ClusterStatus(grpc::ServerContext*, const v1::Empty*,
                             v1::ClusterStatusResponse*) override;
  grpc::Status StopApp(grpc::ServerContext*, const v1::Empty*, v1::Empty*) override;
  grpc::Status StartApp(grpc::ServerContext*, const v1::Empty*, v1::Empty*) override;
  grpc::Status Reset(grpc::ServerContext*, const v1::Empty*, v1::Empty*) override;
  grpc::Status JoinCluster(grpc::ServerContext*, const v1::JoinClusterRequest*,
                           v1::JoinClusterResponse*) override;
  grpc::Status ForgetClusterNode(grpc::ServerContext*, const v1::ForgetClusterNodeRequest*,
                                 v1::Empty*) override;
  grpc::Status Overview(grpc::ServerContext*, const v1::Empty*, v1::OverviewResponse*) override;
  grpc::Status ExportDefinitions(grpc::ServerContext*, const v1::Empty*,
                                 v1::Definitions*) override;
  grpc::Status ImportDefinitions(grpc::ServerContext*, const v1::Definitions*,
                                 v1::Empty*) override;

  grpc::Status WhoAmI(grpc::ServerContext*, const v1::Empty*, v1::User*) override;
  grpc::Status DeclareQueue(grpc::ServerContext*, const v1::DeclareQueueRequest*,
                            v1::DeclareResponse*) override;
  grpc::Status DeclareExchange(grpc::ServerContext*, const v1::DeclareExchangeRequest*,
                               v1::DeclareResponse*) override;
  grpc::Status DeleteExchange(grpc::ServerContext*, const v1::DeleteExchangeRequest*,
                              v1::Empty*) override;
  grpc::Status Bind(grpc::ServerContext*, const v1::Binding*, v1::Empty*) override;
  grpc::Status Unbind(grpc::ServerContext*, const v1::UnbindRequest*, v1::Empty*) override;
  grpc::Status Publish(grpc::ServerContext*, const v1::PublishRequest*,
                       v1::PublishResponse*) override;
  grpc::Status GetMessages(grpc::ServerContext*, const v1::GetMessagesRequest*,
                           v1::GetMessagesResponse*) override;

 private:
  using Work = std::function<grpc::Status(const Caller&)>;
  using Parse = std::function<grpc::Status()>;
  // Authenticates the caller from the call's metadata, checks `need` (on
  // `vhost` for policymaker and management; empty: any of the caller's
  // vhosts), then runs `work` on the node's loop and returns its status.
  grpc::Status Run(grpc::ServerContext* call, Need need, const std::string& vhost, Work work);
  // The same for the calls a node answers while its application is stopped
  // (stop_app): status, cluster_status and the membership commands. Every
  // other call is then refused with FAILED_PRECONDITION.
  grpc::Status RunAnyState(grpc::ServerContext* call, Need need, Work work);
  // A membership command (administrator, in any state): `command` runs on
  // the gRPC thread once the caller is admitted.
  grpc::Status Membership(grpc::ServerContext* call,
                          const std::function<warren::Status()>& command);
  // The same for a call that carries text to parse (JSON): `parse` runs on
  // the gRPC thread once the caller is authenticated and authorized, so no
  // byte of it is read for a stranger and a large text does not hold up the
  // loop; `work` runs on the loop only if `parse` succeeded.
  grpc::Status Run(grpc::ServerContext* call, Need need, const std::string& vhost, Parse parse,
                   Work work);
  // A metadata change (core/command.h). Once the caller is admitted, `plan`
  // runs on the loop and either refuses (its status) or names the command
  // (an OK status with no command: nothing to change). The command goes
  // through the broker's gate; the call waits for its outcome (a cluster
  // answers after commit), which `answer`, on the gRPC thread and without
  // touching the model, turns into the call's status (default: the
  // outcome's own).
  using Plan = std::function<grpc::Status(const Caller&, std::optional<core::Command>&)>;
  using Answer = std::function<grpc::Status(const core::Outcome&)>;
  grpc::Status Change(grpc::ServerContext* call, Need need, const std::string& vhost, Plan plan,
                      Answer answer = {});
  grpc::Status Change(grpc::ServerContext* call, Need need, const std::string& vhost, Parse parse,
                      Plan plan, Answer answer = {});
  // The change `plan` names for `caller`, through the gate, waited for.
  grpc::Status Submit(const Caller& caller, const Plan& plan, const Answer& answer);
  // Who the call says it is: Basic credentials, and whether it comes from
  // loopback (the gRPC peer, and the HTTP client warren-mgmt names in
  // x-warren-client-address).
  struct Credentials {
    std::string user, password;
    bool loopback = false;
  };
  static grpc::Status ReadCredentials(grpc::ServerContext* call, Credentials& out);
  // Reads the call's credentials and admits its caller (Admit, on the loop).
  grpc::Status Admitted(grpc::ServerContext* call, Need need, const std::string& vhost,
                        Caller& caller);
  // On the loop: checks the password, guest's loopback rule and `need`,
  // and, unless `any_state`, that the application runs.
  grpc::Status Admit(const Credentials& who, Need need, const std::string& vhost,
                     Caller& caller, bool any_state = false) const;
  // Runs `fn` on the node's loop and waits for its status.
  grpc::Status OnLoop(const std::function<grpc::Status()>& fn);
  grpc::Status Authorize(const Caller& caller, Need need, const std::string& vhost) const;
  // The vhosts a listing covers: one (checked for existence), or all that
  // the caller may see.
  grpc::Status ListedVHosts(const Caller& caller, const v1::ListRequest& request,
                            std::vector<std::string>& out) const;
  // The vhost, and the permission AMQP would ask of a caller who is not an
  // administrator for `access` on `resource` (a "queue" or "exchange"
  // `kind`; the default exchange is "amq.default").
  grpc::Status Permit(const Caller& caller, const std::string& vhost, core::Access access,
                      const std::string& kind, const std::string& resource) const;
  // Binding needs write on the destination and read on the source.
  grpc::Status PermitBinding(const Caller& caller, const std::string& vhost, bool to_queue,
                             const std::string& destination, const std::string& source) const;
  // Policies and operator policies alike (admin_policies.cc).
  grpc::Status PutPolicy(grpc::ServerContext* call, const v1::Policy& r, bool operator_policy);
  grpc::Status DropPolicy(grpc::ServerContext* call, const v1::PolicyRef& r,
                          bool operator_policy);
  grpc::Status ListPolicyMap(grpc::ServerContext* call, const v1::VHostRef& r,
                             bool operator_policy, v1::ListPoliciesResponse* out);
  using QueueOp = std::function<Result<uint32_t>(core::VHost&, uint64_t owner)>;
  grpc::Status ChangeQueue(const Caller& caller, const std::string& vhost, core::Access access,
                           const std::string& queue, const QueueOp& op, uint64_t& messages) const;
  core::Broker& broker() const { return *ctx_.broker; }
  // On the loop: this node's status (Status, and ClusterStatus's `node`).
  void FillStatus(v1::StatusResponse& out) const;

  AdminContext& ctx_;
};

}  // namespace warren::admin
