// list_queues, list_exchanges, list_bindings, list_consumers (one vhost,
// -p), list_connections and list_channels (the whole node); each takes
// column names after its options, as rabbitmqctl does.
#include <cstdio>

#include "ctl/columns.h"
#include "ctl/command.h"

namespace warren::ctl {
namespace {

using json = nlohmann::ordered_json;

struct ListArgs {
  std::string vhost;
  std::vector<std::string> columns;
};

// `banner` with {vhost} and {timeout} filled in.
std::string Banner(std::string text, const std::string& vhost, double timeout) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1f", timeout);
  return Fill(Fill(std::move(text), "{vhost}", vhost), "{timeout}", seconds);
}

// One listing: `per_vhost` adds -p, else it covers the whole node.
template <typename Msg, typename Response>
void AddListing(Commands& commands, const std::string& name, const std::string& description,
                bool per_vhost, const std::string& banner,
                Method<v1::ListRequest, Response> method,
                const google::protobuf::RepeatedPtrField<Msg>& (Response::*rows)() const,
                Listing<Msg> listing) {
  auto args = Args<ListArgs>();
  CLI::App* command = commands.Add(name, description, [=](Context& ctx) {
    v1::ListRequest request;
    if (per_vhost) request.set_vhost(args->vhost);
    request.set_all_vhosts(!per_vhost);
    Select(listing, args->columns, {});  // an unknown column fails before the call
    ctx.out.Info(Banner(banner, args->vhost, ctx.options.timeout_seconds));
    Response response = ctx.client.Call(method, request);
    ctx.out.Print(Select(listing, args->columns, (response.*rows)()));
  });
  if (per_vhost) Commands::AddVhost(command, args->vhost);
  commands.AddColumns(command, &args->columns);
}

void AddVhostListings(Commands& commands) {
  AddListing(commands, "list_queues", "Lists queues and their properties", true,
             "Timeout: {timeout} seconds ...\nListing queues for vhost {vhost} ...",
             &v1::Admin::Stub::ListQueues, &v1::ListQueuesResponse::queues,
             Listing<v1::Queue>{
                 {"name", "messages"},
                 // A mirrored queue's copies by node name: RabbitMQ's pid
                 // columns, and the names rabbitmqctl 3.13 also takes.
                 {{"slave_pids", [](const v1::Queue& q) { return FieldValue(q, "mirror_nodes"); }},
                  {"synchronised_slave_pids",
                   [](const v1::Queue& q) { return FieldValue(q, "synchronised_mirror_nodes"); }},
                  {"mirrors", [](const v1::Queue& q) { return FieldValue(q, "mirror_nodes"); }},
                  {"synchronised_mirrors", [](const v1::Queue& q) {
                     return FieldValue(q, "synchronised_mirror_nodes");
                   }}}});
  AddListing(commands, "list_exchanges", "Lists exchanges", true,
             "Listing exchanges for vhost {vhost} ...",
             &v1::Admin::Stub::ListExchanges, &v1::ListExchangesResponse::exchanges,
             Listing<v1::Exchange>{{"name", "type"}, {}});
  AddListing(
      commands, "list_bindings", "Lists bindings", true,
      "Listing bindings for vhost {vhost}...",
      &v1::Admin::Stub::ListBindings, &v1::ListBindingsResponse::bindings,
      Listing<v1::Binding>{
          {"source_name", "source_kind", "destination_name", "destination_kind", "routing_key",
           "arguments"},
          {{"source_name", [](const v1::Binding& b) { return json(b.source()); }},
           {"source_kind", [](const v1::Binding&) { return json("exchange"); }},
           {"destination_name", [](const v1::Binding& b) { return json(b.destination()); }}}});
  AddListing(
      commands, "list_consumers", "Lists consumers", true,
      "Listing consumers in vhost {vhost} ...",
      &v1::Admin::Stub::ListConsumers, &v1::ListConsumersResponse::consumers,
      Listing<v1::Consumer>{
          {"queue_name", "channel_pid", "consumer_tag", "ack_required", "prefetch_count", "active",
           "arguments"},
          {{"queue_name", [](const v1::Consumer& c) { return json(c.queue()); }},
           {"channel_pid", [](const v1::Consumer& c) { return json(c.channel()); }},
           {"arguments", [](const v1::Consumer& c) {
              json args = json::object();
              if (c.priority() != 0) args["x-priority"] = c.priority();
              return args;
            }}}});
}

void AddNodeListings(Commands& commands) {
  AddListing(
      commands, "list_connections", "Lists AMQP connections to the node", false,
      "Listing connections ...",
      &v1::Admin::Stub::ListConnections, &v1::ListConnectionsResponse::connections,
      Listing<v1::Connection>{
          {"user", "peer_host", "peer_port", "state"},
          {{"pid", [](const v1::Connection& c) { return json(c.name()); }},
           {"timeout", [](const v1::Connection& c) { return json(c.heartbeat()); }}}});
  AddListing(
      commands, "list_channels", "Lists channels of all connections", false,
      "Listing channels ...",
      &v1::Admin::Stub::ListChannels, &v1::ListChannelsResponse::channels,
      Listing<v1::Channel>{
          {"pid", "user", "consumer_count", "messages_unacknowledged"},
          {{"pid", [](const v1::Channel& c) {
             return json(c.connection() + " (" + std::to_string(c.number()) + ")");
           }}}});
}

}  // namespace

void AddListingCommands(Commands& commands) {
  AddVhostListings(commands);
  AddNodeListings(commands);
}

}  // namespace warren::ctl
