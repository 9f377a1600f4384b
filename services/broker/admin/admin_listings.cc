// Listings (list_queues, list_exchanges, list_bindings, list_connections,
// list_channels, list_consumers) and the operations on them (purge_queue,
// delete_queue, close_connection).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/admin/admin_service.h"
#include "broker/admin/json_values.h"
#include "broker/core/broker.h"
#include "common/text.h"

namespace warren::admin {

namespace {

std::string Args(const amqp::FieldTable& t) { return Dump(ToJson(t)); }

template <class Map>
std::vector<typename Map::const_iterator> SortedByName(const Map& m) {
  std::vector<typename Map::const_iterator> out;
  out.reserve(m.size());
  for (auto it = m.begin(); it != m.end(); ++it) out.push_back(it);
  std::sort(out.begin(), out.end(), [](auto a, auto b) { return a->first < b->first; });
  return out;
}

// Member names by id, each looked up once per listing.
class NodeNames {
 public:
  explicit NodeNames(core::Broker& broker) : broker_(broker) {}
  const std::string& operator()(uint64_t id) {
    auto [it, added] = names_.try_emplace(id);
    if (added)
      it->second = id == 0 || id == broker_.self_member() || !broker_.remote()
                       ? broker_.config().node_name
                       : broker_.remote()->NodeName(id);
    return it->second;
  }

 private:
  core::Broker& broker_;
  std::map<uint64_t, std::string> names_;
};

int64_t WallNowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// The head ready message's timestamp property (seconds), as RabbitMQ gives
// it: only while the message is in memory; 0 when there is none.
int64_t HeadTimestamp(const core::Queue& q) {
  const core::QueueEntry* head = q.head();
  if (!head || !head->message) return 0;
  std::optional<uint64_t> t = head->message->properties().timestamp;
  return t ? static_cast<int64_t>(*t) : 0;
}

// The operator policy and the definition in effect (docs/parameters.md).
void FillPolicies(v1::Queue* o, const core::VHost& v, const core::Queue& q) {
  const core::Policy* op = v.OperatorPolicyOf(q);
  o->set_operator_policy(q.operator_policy_name());
  o->set_effective_policy_definition(
      Dump(ToJson(core::MergeOperatorPolicy(v.PolicyOf(q), op))));
}

void FillQueue(v1::Queue* o, const core::Queue& q, NodeNames& names, int64_t wall_now_ms) {
  o->set_node(names(q.home()));
  for (uint64_t id : q.mirrors().members) o->add_mirror_nodes(names(id));
  for (uint64_t id : q.mirrors().in_sync) o->add_synchronised_mirror_nodes(names(id));
  o->set_vhost(q.vhost());
  o->set_name(q.name());
  o->set_durable(q.durable());
  o->set_auto_delete(q.auto_delete());
  o->set_exclusive(q.exclusive_owner() != 0);
  o->set_arguments(Args(q.options().arguments));
  o->set_policy(q.policy_name());
  o->set_messages_ready(q.ready_count());
  o->set_messages_unacknowledged(q.unacked_count());
  o->set_messages(q.ready_count() + q.unacked_count());
  o->set_message_bytes_ready(q.ready_bytes());
  o->set_message_bytes(q.ready_bytes() + q.unacked_bytes());
  o->set_message_bytes_unacknowledged(q.unacked_bytes());
  o->set_message_bytes_persistent(q.persistent_bytes());
  o->set_messages_persistent(q.persistent_count());
  o->set_messages_ram(q.ram_count());
  o->set_message_bytes_ram(q.ram_bytes());
  o->set_head_message_timestamp(HeadTimestamp(q));
  o->set_consumers(static_cast<uint32_t>(q.consumer_count()));
  o->set_consumer_capacity(q.consumer_capacity());
  o->set_memory(q.memory_bytes());
  // A queue homed elsewhere: its home knows when it was last used.
  if (!q.remote()) o->set_idle_since_ms(q.IdleSinceMs(wall_now_ms));
  o->set_state("running");
  const core::QueueCounters& c = q.counters();
  o->set_published(c.published);
  o->set_delivered(c.delivered);
  o->set_acked(c.acked);
  o->set_redelivered(c.redelivered);
  o->set_dead_lettered(c.dead_lettered);
  o->set_delivered_consume_manual_ack(c.delivered_consume_manual_ack);
  o->set_delivered_consume_auto_ack(c.delivered_consume_auto_ack);
  o->set_delivered_get_manual_ack(c.delivered_get_manual_ack);
  o->set_delivered_get_auto_ack(c.delivered_get_auto_ack);
  o->set_get_empty(c.get_empty);
  if (q.exclusive_owner()) o->set_owner_pid(std::to_string(q.exclusive_owner()));
}

// ListQueues' counts of queues homed on other members, asked of their homes
// (docs/cluster.md, "Queues across nodes"). Shared with the answers, which
// may come after the call gave up waiting: only Fill touches the response.
class HomeCounts : public std::enable_shared_from_this<HomeCounts> {
 public:
  // On the loop: asks `q`'s home for the counts of row `row`.
  void Ask(core::QueueRemote& remote, int row, const core::Queue& q) {
    {
      std::lock_guard lock(mu_);
      ++left_;
      rows_.push_back(row);
    }
    remote.Stat(q.home(), q.vhost(), q.name(), q.exclusive_owner(),
                [self = shared_from_this(), row](core::RemoteReply r) {
                  std::lock_guard lock(self->mu_);
                  self->replies_[row] = std::move(r);
                  if (--self->left_ == 0) self->answered_.notify_all();
                });
  }
  // On the gRPC thread, once asked: waits up to 2 s, then fills the rows. A
  // home that did not answer leaves its rows without counts, state "down",
  // as RabbitMQ lists a queue whose node is down.
  void Fill(v1::ListQueuesResponse& out) {
    std::unique_lock lock(mu_);
    answered_.wait_for(lock, std::chrono::seconds(2), [&] { return left_ == 0; });
    for (int i : rows_) {
      v1::Queue& row = *out.mutable_queues(i);
      auto it = replies_.find(i);
      if (it == replies_.end() || !it->second.status.ok()) {
        row.set_state("down");
        continue;
      }
      const core::RemoteReply& r = it->second;
      row.set_messages_ready(r.message_count);
      row.set_messages_unacknowledged(r.unacked_count);
      row.set_messages(uint64_t{r.message_count} + r.unacked_count);
      row.set_consumers(r.consumer_count);
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable answered_;
  size_t left_ = 0;
  std::vector<int> rows_;
  std::map<int, core::RemoteReply> replies_;
};

void FillBinding(v1::Binding* o, const std::string& vhost, const std::string& source,
                 const core::BindingSpec& b) {
  o->set_vhost(vhost);
  o->set_source(source);
  o->set_destination(b.destination.name);
  o->set_destination_kind(b.destination.kind == core::Destination::Kind::kQueue ? "queue"
                                                                                : "exchange");
  o->set_routing_key(b.routing_key);
  o->set_arguments(Args(b.arguments));
  o->set_properties_key(PropertiesKey(b.routing_key, b.arguments));
}

}  // namespace

grpc::Status AdminService::Permit(const Caller& c, const std::string& vhost, core::Access access,
                                  const std::string& kind, const std::string& resource) const {
  if (!broker().FindVHost(vhost)) return NotFound("Virtual host \"" + vhost + "\" does not exist");
  if (c.has("administrator") || broker().Allowed(c.user, vhost, access, resource))
    return grpc::Status::OK;
  const char* what = access == core::Access::kRead    ? "read"
                     : access == core::Access::kWrite ? "write"
                                                      : "configure";
  return {grpc::StatusCode::PERMISSION_DENIED, "user '" + c.user + "' has no " + what +
                                                   " permission on " + kind + " '" + resource +
                                                   "' in vhost '" + vhost + "'"};
}

// Purging and deleting change a queue: besides its tags, a caller who is not
// an administrator needs the permission AMQP would ask for (read to purge,
// configure to delete). `op` acts as the queue's owner would, so an operator
// may empty or delete another connection's exclusive queue.
grpc::Status AdminService::ChangeQueue(const Caller& c, const std::string& vhost,
                                       core::Access access, const std::string& name,
                                       const QueueOp& op, uint64_t& messages) const {
  if (grpc::Status s = Permit(c, vhost, access, "queue", name); !s.ok()) return s;
  core::VHost* v = broker().FindVHost(vhost);
  std::shared_ptr<core::Queue> q = v->FindQueue(name);
  if (!q) return NoQueue(name, vhost);
  Result<uint32_t> n = op(*v, q->exclusive_owner());
  if (!n.ok()) return ToGrpc(n.error());
  messages = n.value();
  return grpc::Status::OK;
}

grpc::Status AdminService::ListQueues(grpc::ServerContext* call, const v1::ListRequest* r,
                                      v1::ListQueuesResponse* out) {
  auto counts = std::make_shared<HomeCounts>();
  grpc::Status status = Run(call, Need::kManagement, "", [&](const Caller& c) {
    std::vector<std::string> vhosts;
    if (grpc::Status s = ListedVHosts(c, *r, vhosts); !s.ok()) return s;
    core::QueueRemote* remote = broker().remote();
    NodeNames names(broker());
    const int64_t now = WallNowMs();
    for (const auto& name : vhosts) {
      const core::VHost& v = *broker().FindVHost(name);
      out->mutable_queues()->Reserve(out->queues_size() + static_cast<int>(v.queues().size()));
      for (auto it : SortedByName(v.queues())) {
        const core::Queue& q = *it->second;
        // A queue homed on another member is shown with its home, and its
        // counts are asked of that home.
        if (q.remote() && remote) counts->Ask(*remote, out->queues_size(), q);
        v1::Queue* o = out->add_queues();
        FillQueue(o, q, names, now);
        FillPolicies(o, v, q);
      }
    }
    return grpc::Status::OK;
  });
  if (status.ok()) counts->Fill(*out);
  return status;
}

grpc::Status AdminService::ListExchanges(grpc::ServerContext* call, const v1::ListRequest* r,
                                         v1::ListExchangesResponse* out) {
  return Run(call, Need::kManagement, "", [&](const Caller& c) {
    std::vector<std::string> vhosts;
    if (grpc::Status s = ListedVHosts(c, *r, vhosts); !s.ok()) return s;
    for (const auto& name : vhosts) {
      // The default exchange, as RabbitMQ lists it: "" of type direct.
      v1::Exchange* d = out->add_exchanges();
      d->set_vhost(name);
      d->set_type("direct");
      d->set_durable(true);
      d->set_arguments("{}");
      for (auto it : SortedByName(broker().FindVHost(name)->exchanges())) {
        const core::Exchange& e = *it->second;
        v1::Exchange* o = out->add_exchanges();
        o->set_vhost(name);
        o->set_name(e.name());
        o->set_type(e.type());
        o->set_durable(e.durable());
        o->set_auto_delete(e.auto_delete());
        o->set_internal(e.internal());
        o->set_arguments(Args(e.options().arguments));
        o->set_policy(e.policy_name());
        o->set_publish_in(e.publish_in);
        o->set_publish_out(e.publish_out);
      }
    }
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ListBindings(grpc::ServerContext* call, const v1::ListRequest* r,
                                        v1::ListBindingsResponse* out) {
  return Run(call, Need::kManagement, "", [&](const Caller& c) {
    std::vector<std::string> vhosts;
    if (grpc::Status s = ListedVHosts(c, *r, vhosts); !s.ok()) return s;
    for (const auto& name : vhosts) {
      const core::VHost& v = *broker().FindVHost(name);
      // Every queue is bound to the default exchange by its name.
      for (auto it : SortedByName(v.queues()))
        FillBinding(out->add_bindings(), name, "",
                    {{core::Destination::Kind::kQueue, it->first}, it->first, {}});
      for (auto it : SortedByName(v.exchanges()))
        it->second->router().ForEach([&](const core::BindingSpec& b) {
          FillBinding(out->add_bindings(), name, it->first, b);
        });
    }
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ListConnections(grpc::ServerContext* call, const v1::ListRequest*,
                                           v1::ListConnectionsResponse* out) {
  return Run(call, Need::kManagement, "", [&](const Caller& c) {
    for (const auto& [id, client] : broker().clients()) {
      core::ConnectionInfo i = client->Describe();
      if (!c.sees_all() && i.user != c.user) continue;
      v1::Connection* o = out->add_connections();
      o->set_name(i.name);
      o->set_id(i.id);
      o->set_user(i.user);
      o->set_vhost(i.vhost);
      o->set_peer_host(i.peer_host);
      o->set_peer_port(i.peer_port);
      o->set_ssl(i.ssl);
      o->set_ssl_protocol(i.ssl_protocol);
      o->set_ssl_cipher(i.ssl_cipher);
      o->set_peer_cert_subject(ToUtf8(i.peer_cert_subject));
      o->set_auth_mechanism(ToUtf8(i.auth_mechanism));
      o->set_state(i.state);
      o->set_channels(static_cast<uint32_t>(i.channels.size()));
      o->set_client_properties(Dump(ToJson(i.client_properties)));
      o->set_frame_max(i.frame_max);
      o->set_heartbeat(i.heartbeat);
      o->set_channel_max(i.channel_max);
      o->set_recv_oct(i.recv_oct);
      o->set_send_oct(i.send_oct);
      o->set_recv_cnt(i.recv_cnt);
      o->set_send_cnt(i.send_cnt);
      o->set_send_pend(i.send_pend);
      o->set_protocol("AMQP 0-9-1");
      o->set_connected_at(i.connected_at_ms);
      o->set_node(broker().config().node_name);
    }
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ListChannels(grpc::ServerContext* call, const v1::ListRequest*,
                                        v1::ListChannelsResponse* out) {
  return Run(call, Need::kManagement, "", [&](const Caller& c) {
    int64_t wall_now_ms = WallNowMs();
    for (const auto& [id, client] : broker().clients()) {
      core::ConnectionInfo i = client->Describe();
      if (!c.sees_all() && i.user != c.user) continue;
      for (const core::ChannelInfo& ch : i.channels) {
        v1::Channel* o = out->add_channels();
        o->set_connection(i.name);
        o->set_connection_id(i.id);
        o->set_number(ch.number);
        o->set_user(i.user);
        o->set_vhost(i.vhost);
        o->set_transactional(ch.transactional);
        o->set_confirm(ch.confirm);
        o->set_consumer_count(ch.consumers);
        o->set_messages_unacknowledged(static_cast<uint32_t>(ch.unacked));
        o->set_prefetch_count(ch.prefetch);
        o->set_global_prefetch_count(ch.global_prefetch);
        o->set_messages_unconfirmed(ch.unconfirmed);
        o->set_messages_uncommitted(ch.uncommitted_messages);
        o->set_acks_uncommitted(ch.uncommitted_acks);
        const core::MessageCounters& k = ch.counters;
        o->set_messages_published(k.messages_received);
        o->set_messages_confirmed(k.messages_confirmed);
        o->set_messages_unroutable_returned(k.messages_unroutable_returned);
        o->set_messages_unroutable_dropped(k.messages_unroutable_dropped);
        o->set_messages_delivered_consume_manual_ack(k.messages_delivered_consume_manual_ack);
        o->set_messages_delivered_consume_auto_ack(k.messages_delivered_consume_auto_ack);
        o->set_messages_delivered_get_manual_ack(k.messages_delivered_get_manual_ack);
        o->set_messages_delivered_get_auto_ack(k.messages_delivered_get_auto_ack);
        o->set_messages_get_empty(k.messages_get_empty);
        o->set_messages_redelivered(k.messages_redelivered);
        o->set_messages_acked(k.messages_acked);
        if (ch.idle_ms != 0) o->set_idle_since_ms(wall_now_ms - ch.idle_ms);
      }
    }
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ListConsumers(grpc::ServerContext* call, const v1::ListRequest* r,
                                         v1::ListConsumersResponse* out) {
  return Run(call, Need::kManagement, "", [&](const Caller& c) {
    std::vector<std::string> vhosts;
    if (grpc::Status s = ListedVHosts(c, *r, vhosts); !s.ok()) return s;
    for (const auto& name : vhosts)
      for (auto it : SortedByName(broker().FindVHost(name)->queues())) {
        const core::Queue& q = *it->second;
        const core::Consumer* active = q.active_consumer();
        for (const core::Consumer* k : q.consumers()) {
          v1::Consumer* o = out->add_consumers();
          o->set_vhost(name);
          o->set_queue(q.name());
          o->set_consumer_tag(k->tag());
          o->set_channel(k->sink().Label());
          o->set_ack_required(!k->no_ack());
          o->set_exclusive(k->exclusive());
          o->set_prefetch_count(k->prefetch);
          o->set_active(!q.options().args.single_active_consumer || k == active);
          o->set_priority(k->priority());
        }
      }
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::PurgeQueue(grpc::ServerContext* call, const v1::QueueRef* r,
                                      v1::PurgeQueueResponse* out) {
  std::string vhost = VHostOf(r->vhost());
  return Run(call, Need::kManagement, vhost, [&, vhost](const Caller& c) {
    auto purge = [&](core::VHost& v, uint64_t owner) { return v.PurgeQueue(r->name(), owner); };
    uint64_t n = 0;
    grpc::Status s = ChangeQueue(c, vhost, core::Access::kRead, r->name(), purge, n);
    out->set_messages(n);
    return s;
  });
}

// Asked of the queue's home; a home on another member answers over the
// Queues stream, within 5 s or the call fails as unavailable.
grpc::Status AdminService::SyncQueue(grpc::ServerContext* call, const v1::SyncQueueRequest* r,
                                     v1::Empty*) {
  std::string vhost = VHostOf(r->vhost());
  auto answer = std::make_shared<std::promise<warren::Status>>();
  std::future<warren::Status> answered = answer->get_future();
  grpc::Status status = Run(call, Need::kManagement, vhost, [&](const Caller& c) {
    if (grpc::Status s = Permit(c, vhost, core::Access::kConfigure, "queue", r->name()); !s.ok())
      return s;
    std::shared_ptr<core::Queue> q = broker().FindVHost(vhost)->FindQueue(r->name());
    if (!q) return NoQueue(r->name(), vhost);
    if (q->mirrors().members.empty())
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "queue '" + r->name() + "' in vhost '" + vhost + "' is not mirrored");
    core::QueueRemote* remote = broker().remote();
    if (q->remote() && remote) {
      std::string down = core::HomeDown(remote->NodeName(q->home()), r->name(), q->durable(), vhost);
      remote->SyncMirrors(q->home(), vhost, r->name(), r->cancel(),
                          [answer, down](core::RemoteReply reply) {
                            answer->set_value(reply.unreachable
                                                  ? warren::Status(Error{404, down})
                                                  : reply.status);
                          });
      return grpc::Status::OK;
    }
    core::MirrorSync* sync = broker().mirror_sync();
    answer->set_value(sync ? sync->SyncMirrors(vhost, r->name(), r->cancel())
                           : warren::Status(Error{404, "this node homes no mirrored queue"}));
    return grpc::Status::OK;
  });
  if (!status.ok()) return status;
  if (answered.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "the home of queue '" + r->name() + "' in vhost '" + vhost +
                            "' did not answer");
  return ToGrpc(answered.get());
}

grpc::Status AdminService::DeleteQueue(grpc::ServerContext* call, const v1::DeleteQueueRequest* r,
                                       v1::DeleteQueueResponse* out) {
  std::string vhost = VHostOf(r->vhost());
  auto plan = [&, vhost](const Caller& c, auto& command) {
    if (grpc::Status s = Permit(c, vhost, core::Access::kConfigure, "queue", r->name()); !s.ok())
      return s;
    std::shared_ptr<core::Queue> q = broker().FindVHost(vhost)->FindQueue(r->name());
    if (!q) return NoQueue(r->name(), vhost);
    // In a cluster the delete is applied whatever the queue holds
    // (core/command.cc): its conditions are checked here, where the queue
    // is; a queue homed elsewhere is checked by its home.
    if (broker().self_member() != 0 && (r->if_unused() || r->if_empty())) {
      if (q->remote())
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            "queue '" + r->name() + "' in vhost '" + vhost +
                                "' is homed on another node: delete it with --if-unused or "
                                "--if-empty through that node");
      warren::Status conditions = core::CheckDeleteConditions(
          vhost, r->name(), r->if_unused(), r->if_empty(), q->consumer_count(), q->ready_count());
      if (!conditions.ok()) return ToGrpc(conditions);
    }
    // As its owner: an exclusive queue is deleted for the operator.
    command = core::cmd::DeleteQueue{vhost, r->name(), r->if_unused(), r->if_empty(),
                                     q->exclusive_owner()};
    return grpc::Status::OK;
  };
  return Change(call, Need::kManagement, vhost, plan, [&](const core::Outcome& o) {
    if (!o.status.ok()) return ToGrpc(o.status);
    out->set_messages(o.message_count);
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::CloseConnection(grpc::ServerContext* call,
                                           const v1::CloseConnectionRequest* r, v1::Empty*) {
  return Run(call, Need::kManagement, "", [&](const Caller& c) {
    for (const auto& [id, client] : broker().clients()) {
      core::ConnectionInfo i = client->Describe();
      if (i.name != r->name() && std::to_string(id) != r->name()) continue;
      if (!c.has("administrator") && i.user != c.user)
        return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                            "user '" + c.user + "' may not close connections of other users");
      client->ForceClose(r->reason().empty() ? "Closed via warrenctl" : r->reason());
      return grpc::Status::OK;
    }
    return NotFound("no connection \"" + r->name() + "\"");
  });
}

}  // namespace warren::admin
