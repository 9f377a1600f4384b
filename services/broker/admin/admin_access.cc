// Users, vhosts and permissions (rabbitmqctl add_user ... list_user_permissions).
#include "broker/admin/admin_service.h"
#include "broker/core/broker.h"
#include "common/password.h"

namespace warren::admin {

namespace {

// NOT_FOUND naming the user, or else the vhost, that does not exist.
grpc::Status UserAndVHost(core::Broker& broker, const std::string& user,
                          const std::string& vhost) {
  if (!broker.FindUser(user)) return NoUser(user);
  if (!broker.FindVHost(vhost)) return NoVHost(vhost);
  return grpc::Status::OK;
}

// The stored hash: the given one (checked), or the password's. Hashing is
// slow on purpose: callers do it off the loop.
grpc::Status HashOf(const std::string& password, const std::string& given, std::string& hash) {
  if (given.empty()) {
    hash = HashPassword(password);
    return grpc::Status::OK;
  }
  if (!password.empty()) return Invalid("give a password or a password_hash, not both");
  if (!IsValidPasswordHash(given))
    return Invalid("password_hash is not a rabbit_password_hashing_sha256 hash");
  hash = given;
  return grpc::Status::OK;
}

void Fill(v1::Permission* out, const std::string& user, const std::string& vhost,
          const core::Permissions& p) {
  out->set_user(user);
  out->set_vhost(vhost);
  out->set_configure(p.configure);
  out->set_write(p.write);
  out->set_read(p.read);
}

}  // namespace

grpc::Status AdminService::AddUser(grpc::ServerContext* call, const v1::AddUserRequest* r,
                                   v1::Empty*) {
  std::string hash;
  if (grpc::Status s = HashOf(r->password(), r->password_hash(), hash); !s.ok()) return s;
  return Change(call, Need::kAdministrator, "", [&](const Caller&, auto& command) {
    if (r->name().empty()) return Invalid("user name must not be empty");
    if (broker().FindUser(r->name()))
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          "User \"" + r->name() + "\" already exists");
    command = core::cmd::AddUser{r->name(), hash, {}};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::DeleteUser(grpc::ServerContext* call, const v1::UserRef* r,
                                      v1::Empty*) {
  return Change(call, Need::kAdministrator, "", [&](const Caller&, auto& command) {
    if (!broker().FindUser(r->name())) return NoUser(r->name());
    command = core::cmd::DeleteUser{r->name()};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ChangePassword(grpc::ServerContext* call,
                                          const v1::ChangePasswordRequest* r, v1::Empty*) {
  std::string hash;
  if (grpc::Status s = HashOf(r->password(), r->password_hash(), hash); !s.ok()) return s;
  return Change(call, Need::kAdministrator, "", [&](const Caller&, auto& command) {
    if (!broker().FindUser(r->name())) return NoUser(r->name());
    command = core::cmd::ChangePassword{r->name(), hash};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::AuthenticateUser(grpc::ServerContext* call,
                                            const v1::AuthenticateUserRequest* r, v1::Empty*) {
  return Run(call, Need::kAdministrator, "", [&](const Caller&) {
    if (broker().Authenticate(r->name(), r->password())) return grpc::Status::OK;
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "failed to authenticate user \"" + r->name() +
                            "\": invalid credentials");
  });
}

grpc::Status AdminService::SetUserTags(grpc::ServerContext* call, const v1::SetUserTagsRequest* r,
                                       v1::Empty*) {
  return Change(call, Need::kAdministrator, "", [&](const Caller&, auto& command) {
    if (!broker().FindUser(r->name())) return NoUser(r->name());
    command = core::cmd::SetUserTags{r->name(), {r->tags().begin(), r->tags().end()}};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::WhoAmI(grpc::ServerContext* call, const v1::Empty*, v1::User* out) {
  return Run(call, Need::kManagement, "", [&](const Caller& c) {
    out->set_name(c.user);
    for (const auto& t : c.tags) out->add_tags(t);
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ListUsers(grpc::ServerContext* call, const v1::Empty*,
                                     v1::ListUsersResponse* out) {
  return Run(call, Need::kAdministrator, "", [&](const Caller&) {
    for (const auto& [name, u] : broker().users()) {
      v1::User* o = out->add_users();
      o->set_name(name);
      for (const auto& t : u.tags) o->add_tags(t);
      o->set_password_hash(u.password_hash);
      o->mutable_limits()->insert(u.limits.begin(), u.limits.end());
    }
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::AddVHost(grpc::ServerContext* call, const v1::AddVHostRequest* r,
                                    v1::Empty*) {
  return Change(call, Need::kAdministrator, "", [&](const Caller& caller, auto& command) {
    bool exists = broker().FindVHost(r->name()) != nullptr;
    if (exists && !r->update())
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          "Virtual host \"" + r->name() + "\" already exists");
    if (!exists && r->update()) return NoVHost(r->name());
    core::cmd::AddVHost add{.name = r->name(), .update = r->update()};
    add.metadata.description = r->description();
    add.metadata.tags.assign(r->tags().begin(), r->tags().end());
    add.metadata.default_queue_type = r->default_queue_type();
    add.metadata.tracing = r->tracing();
    if (warren::Status s = core::ValidateDefaultQueueType(add.metadata.default_queue_type);
        !s.ok())
      return ToGrpc(s);
    if (add.metadata.description.size() > core::kMaxVHostDescription)
      return Invalid("a vhost description is at most 64 KiB");
    if (r->grant_caller()) add.grant_user = caller.user;
    command = std::move(add);
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::DeleteVHost(grpc::ServerContext* call, const v1::VHostRef* r,
                                       v1::Empty*) {
  return Change(call, Need::kAdministrator, "", [&](const Caller&, auto& command) {
    if (!broker().FindVHost(r->name())) return NoVHost(r->name());
    command = core::cmd::DeleteVHost{r->name()};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ListVHosts(grpc::ServerContext* call, const v1::Empty*,
                                      v1::ListVHostsResponse* out) {
  return Run(call, Need::kManagement, "", [&](const Caller& c) {
    for (const auto& [name, v] : broker().vhosts()) {
      if (!c.sees_all() && !broker().CanAccessVHost(c.user, name)) continue;
      v1::VHost* o = out->add_vhosts();
      o->set_name(name);
      uint64_t messages = 0;
      for (const auto& [qn, q] : v->queues()) messages += q->ready_count() + q->unacked_count();
      o->set_messages(messages);
      o->set_queues(v->queues().size());
      const core::VHostMetadata& meta = v->metadata();
      o->set_description(meta.description);
      for (const auto& t : meta.tags) o->add_tags(t);
      o->set_default_queue_type(meta.default_queue_type);
      o->set_tracing(meta.tracing);
      o->set_connections(v->connection_count());
    }
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::SetPermissions(grpc::ServerContext* call, const v1::Permission* r,
                                          v1::Empty*) {
  return Change(call, Need::kAdministrator, "", [&](const Caller&, auto& command) {
    std::string vhost = VHostOf(r->vhost());
    if (grpc::Status s = UserAndVHost(broker(), r->user(), vhost); !s.ok()) return s;
    command = core::cmd::SetPermissions{r->user(), vhost, r->configure(), r->write(), r->read()};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ClearPermissions(grpc::ServerContext* call,
                                            const v1::ClearPermissionsRequest* r, v1::Empty*) {
  return Change(call, Need::kAdministrator, "", [&](const Caller&, auto& command) {
    std::string vhost = VHostOf(r->vhost());
    if (grpc::Status s = UserAndVHost(broker(), r->user(), vhost); !s.ok()) return s;
    command = core::cmd::ClearPermissions{r->user(), vhost};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ListPermissions(grpc::ServerContext* call, const v1::VHostRef* r,
                                           v1::ListPermissionsResponse* out) {
  return Run(call, Need::kAdministrator, "", [&](const Caller&) {
    std::string vhost = VHostOf(r->name());
    if (!broker().FindVHost(vhost)) return NoVHost(vhost);
    for (const auto& [user, per_vhost] : broker().permissions())
      if (auto it = per_vhost.find(vhost); it != per_vhost.end())
        Fill(out->add_permissions(), user, vhost, it->second);
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ListUserPermissions(grpc::ServerContext* call, const v1::UserRef* r,
                                               v1::ListPermissionsResponse* out) {
  return Run(call, Need::kAdministrator, "", [&](const Caller&) {
    if (!broker().FindUser(r->name())) return NoUser(r->name());
    auto it = broker().permissions().find(r->name());
    if (it != broker().permissions().end())
      for (const auto& [vhost, p] : it->second) Fill(out->add_permissions(), r->name(), vhost, p);
    return grpc::Status::OK;
  });
}

// Topic permissions and user limits (docs/access.md).

grpc::Status AdminService::SetTopicPermission(grpc::ServerContext* call,
                                              const v1::TopicPermission* r, v1::Empty*) {
  return Change(call, Need::kAdministrator, "", [&](const Caller&, auto& command) {
    std::string vhost = VHostOf(r->vhost());
    if (grpc::Status s = UserAndVHost(broker(), r->user(), vhost); !s.ok()) return s;
    command = core::cmd::SetTopicPermission{r->user(), vhost, r->exchange(), r->write(),
                                            r->read()};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ClearTopicPermissions(grpc::ServerContext* call,
                                                 const v1::ClearTopicPermissionsRequest* r,
                                                 v1::Empty*) {
  return Change(call, Need::kAdministrator, "", [&](const Caller&, auto& command) {
    std::string vhost = VHostOf(r->vhost());
    if (grpc::Status s = UserAndVHost(broker(), r->user(), vhost); !s.ok()) return s;
    command = core::cmd::ClearTopicPermissions{r->user(), vhost, r->exchange(),
                                               r->exchange().empty()};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ListTopicPermissions(grpc::ServerContext* call,
                                                const v1::ListTopicPermissionsRequest* r,
                                                v1::ListTopicPermissionsResponse* out) {
  return Run(call, Need::kAdministrator, "", [&](const Caller&) {
    if (!r->user().empty() && !broker().FindUser(r->user())) return NoUser(r->user());
    if (!r->vhost().empty() && !broker().FindVHost(r->vhost())) return NoVHost(r->vhost());
    for (const auto& [user, per_vhost] : broker().topic_permissions()) {
      if (!r->user().empty() && user != r->user()) continue;
      for (const auto& [vhost, per_exchange] : per_vhost) {
        if (!r->vhost().empty() && vhost != r->vhost()) continue;
        for (const auto& [exchange, p] : per_exchange) {
          v1::TopicPermission* o = out->add_topic_permissions();
          o->set_user(user);
          o->set_vhost(vhost);
          o->set_exchange(exchange);
          o->set_write(p.write);
          o->set_read(p.read);
        }
      }
    }
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::SetUserLimits(grpc::ServerContext* call, const v1::UserLimits* r,
                                         v1::Empty*) {
  return Change(call, Need::kAdministrator, "", [&](const Caller&, auto& command) {
    if (!broker().FindUser(r->user())) return NoUser(r->user());
    core::UserLimits limits(r->limits().begin(), r->limits().end());
    if (std::string why = core::UserLimitsProblem(limits); !why.empty()) return Invalid(why);
    command = core::cmd::SetUserLimits{r->user(), std::move(limits)};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ClearUserLimits(grpc::ServerContext* call,
                                           const v1::ClearUserLimitsRequest* r, v1::Empty*) {
  return Change(call, Need::kAdministrator, "", [&](const Caller&, auto& command) {
    if (!broker().FindUser(r->user())) return NoUser(r->user());
    bool all = r->name() == "all";
    command = core::cmd::ClearUserLimits{r->user(), all ? "" : r->name(), all};
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ListUserLimits(grpc::ServerContext* call, const v1::UserRef* r,
                                          v1::ListUserLimitsResponse* out) {
  return Run(call, Need::kAdministrator, "", [&](const Caller&) {
    if (!r->name().empty() && !broker().FindUser(r->name())) return NoUser(r->name());
    for (const auto& [name, u] : broker().users()) {
      if ((!r->name().empty() && name != r->name()) || (r->name().empty() && u.limits.empty()))
        continue;
      v1::UserLimits* o = out->add_users();
      o->set_user(name);
      o->mutable_limits()->insert(u.limits.begin(), u.limits.end());
    }
    return grpc::Status::OK;
  });
}

}  // namespace warren::admin
