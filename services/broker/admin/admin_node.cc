// The node as a whole: status, cluster status, overview counters, definitions
// export/import.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "broker/admin/admin_service.h"
#include "broker/admin/definitions_json.h"
#include "broker/admin/json_values.h"
#include "broker/core/broker.h"
#include "common/version.h"

namespace warren::admin {

void AdminService::FillStatus(v1::StatusResponse& out) const {
  NodeStatus s = ctx_.status();
  out.set_node_name(s.node_name);
  out.set_version(kWarrenVersion);
  out.set_compatible_version(kRabbitCompatibleVersion);
  out.set_product("Warren");
  out.set_pid(static_cast<uint32_t>(getpid()));
  out.set_uptime_ms(s.uptime_ms);
  out.set_memory_bytes(s.memory_bytes);
  out.set_memory_limit(s.memory_limit);
  out.set_disk_free(s.disk_free);
  out.set_disk_free_limit(s.disk_free_limit);
  if (broker().alarm_on(core::Alarm::kMemory)) out.add_alarms("memory");
  if (broker().alarm_on(core::Alarm::kDisk)) out.add_alarms("disk");
  for (const auto& l : s.listeners) {
    v1::Listener* o = out.add_listeners();
    o->set_protocol(l.protocol);
    o->set_address(l.host);
    o->set_port(l.port);
    o->set_certificate_not_after(l.certificate_not_after);
    o->set_certificate_file(l.certificate_file);
    o->set_ca_file(l.ca_file);
  }
  out.set_data_dir(s.data_dir);
  out.set_file_descriptors_used(s.fds_used);
  out.set_file_descriptors_limit(s.fds_limit);
  if (s.fd_alarm) out.add_alarms("file_descriptor_limit");
  out.set_sockets_used(s.sockets_used);
  out.set_sockets_limit(s.sockets_limit);
  out.set_cluster_name(broker().ClusterName());
  out.set_cluster_id(broker().ClusterId());
}

grpc::Status AdminService::Status(grpc::ServerContext* call, const v1::Empty*,
                                  v1::StatusResponse* out) {
  return RunAnyState(call, Need::kMonitoring, [&](const Caller&) {
    FillStatus(*out);
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ClusterStatus(grpc::ServerContext* call, const v1::Empty*,
                                         v1::ClusterStatusResponse* out) {
  ClusterView view;
  grpc::Status s = RunAnyState(call, Need::kMonitoring, [&](const Caller&) {
    FillStatus(*out->mutable_node());
    view = ctx_.cluster();
    return grpc::Status::OK;
  });
  if (!s.ok()) return s;
  ctx_.probe(view);  // here, on the gRPC thread: it waits for the peers
  out->set_self_id(view.self);
  out->set_leader_id(view.leader);
  out->set_term(view.term);
  for (const ClusterMember& m : view.members) {
    v1::ClusterMember* o = out->add_members();
    o->set_id(m.id);
    o->set_node_name(m.node_name);
    o->set_address(m.address);
    o->set_voter(m.voter);
    o->set_running(m.running);
  }
  return grpc::Status::OK;
}

namespace {

// A membership command's refusal (AdminContext's codes) as a gRPC status.
grpc::Status MembershipStatus(const warren::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  const Error& e = s.error();
  switch (e.code) {
    case 400: return {grpc::StatusCode::INVALID_ARGUMENT, e.text};
    case 403: return {grpc::StatusCode::PERMISSION_DENIED, e.text};
    case 404: return {grpc::StatusCode::NOT_FOUND, e.text};
    case 409: return {grpc::StatusCode::FAILED_PRECONDITION, e.text};
    // The cluster (not this node) could not be reached or did not commit.
    case 503:
    case 504: return {grpc::StatusCode::ABORTED, e.text};
    default: return {grpc::StatusCode::INTERNAL, e.text};
  }
}

}  // namespace

grpc::Status AdminService::Membership(grpc::ServerContext* call,
                                      const std::function<warren::Status()>& command) {
  if (grpc::Status s = RunAnyState(call, Need::kAdministrator, [](const Caller&) {
        return grpc::Status::OK;
      });
      !s.ok())
    return s;
  return MembershipStatus(command());  // here, on the gRPC thread: it waits for peers
}

grpc::Status AdminService::StopApp(grpc::ServerContext* call, const v1::Empty*, v1::Empty*) {
  return Membership(call, ctx_.stop_app);
}

grpc::Status AdminService::StartApp(grpc::ServerContext* call, const v1::Empty*, v1::Empty*) {
  return Membership(call, ctx_.start_app);
}

grpc::Status AdminService::Reset(grpc::ServerContext* call, const v1::Empty*, v1::Empty*) {
  return Membership(call, ctx_.reset);
}

grpc::Status AdminService::JoinCluster(grpc::ServerContext* call,
                                       const v1::JoinClusterRequest* request,
                                       v1::JoinClusterResponse* out) {
  return Membership(call, [&] {
    Result<bool> joined = ctx_.join_cluster(request->node());
    if (joined.ok()) out->set_already_member(joined.value());
    return joined.status();
  });
}

grpc::Status AdminService::ForgetClusterNode(grpc::ServerContext* call,
                                             const v1::ForgetClusterNodeRequest* request,
                                             v1::Empty*) {
  return Membership(call, [&] {
    return ctx_.forget_cluster_node(request->node(), request->offline());
  });
}

grpc::Status AdminService::Overview(grpc::ServerContext* call, const v1::Empty*,
                                    v1::OverviewResponse* out) {
  // As the management plugin's overview: every management user may ask; one
  // who may not see every vhost gets the totals of its own vhosts and
  // connections.
  return Run(call, Need::kManagement, "", [&](const Caller& caller) {
    out->set_node_name(broker().config().node_name);
    out->set_cluster_name(broker().ClusterName());
    uint64_t connections = 0, channels = 0, consumers = 0, queues = 0, exchanges = 0;
    uint64_t ready = 0, unacked = 0, vhosts = 0, local_consumers = 0, local_queues = 0;
    for (const auto& [id, c] : broker().clients()) {
      core::ConnectionInfo info = c->Describe();
      if (!caller.sees_all() && info.user != caller.user) continue;
      ++connections;
      channels += info.channels.size();
      // Sums of what ListChannels and ListConnections give one by one.
      for (const core::ChannelInfo& ch : info.channels) {
        local_consumers += ch.consumers;
        out->set_channel_messages_unacknowledged(out->channel_messages_unacknowledged() +
                                                 ch.unacked);
        out->set_channel_messages_unconfirmed(out->channel_messages_unconfirmed() +
                                              ch.unconfirmed);
        out->set_channel_messages_uncommitted(out->channel_messages_uncommitted() +
                                              ch.uncommitted_messages);
        out->set_channel_acks_uncommitted(out->channel_acks_uncommitted() + ch.uncommitted_acks);
        out->set_channel_prefetch(out->channel_prefetch() + ch.global_prefetch);
      }
      out->set_connection_recv_oct(out->connection_recv_oct() + info.recv_oct);
      out->set_connection_send_oct(out->connection_send_oct() + info.send_oct);
      out->set_connection_recv_cnt(out->connection_recv_cnt() + info.recv_cnt);
      out->set_connection_send_cnt(out->connection_send_cnt() + info.send_cnt);
      out->set_connection_send_pend(out->connection_send_pend() + info.send_pend);
    }
    for (const auto& [name, v] : broker().vhosts()) {
      if (!caller.sees_all() && !broker().CanAccessVHost(caller.user, name)) continue;
      ++vhosts;
      exchanges += v->exchanges().size() + 1;  // and the default exchange
      queues += v->queues().size();
      for (const auto& [qn, q] : v->queues()) {
        if (!q->remote()) ++local_queues;
        consumers += q->consumer_count();
        ready += q->ready_count();
        unacked += q->unacked_count();
      }
    }
    const core::BrokerCounters& k = broker().counters();
    out->set_connections(connections);
    out->set_channels(channels);
    out->set_consumers(consumers);
    out->set_queues(queues);
    out->set_exchanges(exchanges);
    out->set_vhosts(vhosts);
    out->set_messages(ready + unacked);
    out->set_messages_ready(ready);
    out->set_messages_unacknowledged(unacked);
    out->set_messages_published(k.messages_received);
    out->set_messages_routed(k.messages_routed);
    out->set_messages_confirmed(k.messages_confirmed);
    out->set_messages_delivered(k.messages_delivered);
    out->set_messages_redelivered(k.messages_redelivered);
    out->set_messages_acked(k.messages_acked);
    out->set_messages_unroutable(k.messages_unroutable_returned + k.messages_unroutable_dropped);
    out->set_messages_unroutable_dropped(k.messages_unroutable_dropped);
    out->set_messages_unroutable_returned(k.messages_unroutable_returned);
    out->set_connections_opened(k.connections_opened);
    out->set_connections_closed(k.connections_closed);
    out->set_messages_received_confirm(k.messages_received_confirm);
    out->set_messages_delivered_consume_manual_ack(k.messages_delivered_consume_manual_ack);
    out->set_messages_delivered_consume_auto_ack(k.messages_delivered_consume_auto_ack);
    out->set_messages_delivered_get_manual_ack(k.messages_delivered_get_manual_ack);
    out->set_messages_delivered_get_auto_ack(k.messages_delivered_get_auto_ack);
    out->set_messages_get_empty(k.messages_get_empty);
    out->set_channels_opened(k.channels_opened);
    out->set_channels_closed(k.channels_closed);
    out->set_queues_declared(k.queues_declared);
    out->set_queues_created(k.queues_created);
    out->set_queues_deleted(k.queues_deleted);
    out->set_publishers(k.publishers);
    out->set_local_consumers(local_consumers);
    out->set_local_queues(local_queues);
    for (uint64_t n : k.message_sizes.counts) out->add_message_size_counts(n);
    out->set_message_size_sum(k.message_sizes.sum);
    if (const core::Persistence* store = broker().persistence()) {
      core::Persistence::DiskCounts disk = store->disk_counts();
      out->set_disk_writes(disk.writes);
      out->set_disk_reads(disk.reads);
    }
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ExportDefinitions(grpc::ServerContext* call, const v1::Empty*,
                                             v1::Definitions* out) {
  return Run(call, Need::kAdministrator, "", [&](const Caller&) {
    out->set_json(Dump(admin::ExportDefinitions(broker()), 2));
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ImportDefinitions(grpc::ServerContext* call,
                                             const v1::Definitions* r, v1::Empty*) {
  // Nothing of the document is read for a caller who is not admitted.
  Caller caller;
  if (grpc::Status s = Admitted(call, Need::kAdministrator, "", caller); !s.ok()) return s;
  nlohmann::json d;
  std::string error;
  if (!ParseJson(r->json(), "the definitions", d, error)) return Invalid(error);
  auto steps = PlanImport(d);
  if (!steps.ok()) return ToGrpc(steps.error());
  // One after another, each applied before the next is checked.
  for (ImportStep& step : steps.value()) {
    grpc::Status s = Submit(caller, [&](const Caller&, std::optional<core::Command>& command) {
      if (grpc::Status s = ToGrpc(CheckImportStep(broker(), step)); !s.ok()) return s;
      command = std::move(step.command);
      return grpc::Status::OK;
    }, {});
    if (!s.ok()) return s;
  }
  return grpc::Status::OK;
}

}  // namespace warren::admin
