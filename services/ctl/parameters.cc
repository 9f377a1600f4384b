// Runtime parameters, vhost limits and the cluster's name, as rabbitmqctl
// 3.13 has them (docs/parameters.md):
//   set_parameter [-p vhost] COMPONENT NAME VALUE, clear_parameter [-p vhost]
//   COMPONENT NAME, list_parameters [-p vhost];
//   set_global_parameter NAME VALUE, clear_global_parameter NAME,
//   list_global_parameters;
//   set_vhost_limits [-p vhost] DEFINITION, clear_vhost_limits [-p vhost],
//   list_vhost_limits [-p vhost] [--global];
//   set_cluster_name NAME.
// VALUE and DEFINITION must be JSON (checked here, exit 65); what they may
// hold is the node's to check (a component it does not know, a limit that
// is not a number: 65 with the node's "Validation failed" text).
#include <iostream>

#include "common/json_limits.h"
#include "ctl/columns.h"
#include "ctl/command.h"

namespace warren::ctl {
namespace {

using json = nlohmann::ordered_json;

constexpr char kLimits[] = "vhost-limits";
constexpr char kLimitsName[] = "limits";

json JsonOf(const std::string& text) {
  json parsed = JsonDepthWithin(text) ? json::parse(text, nullptr, false) : json();
  return parsed.is_discarded() ? json(text) : parsed;
}

// A listing of parameters with `columns`, "value" printed as JSON text as
// rabbitmqctl prints it.
void PrintParameters(const Context& ctx, const v1::ListParametersResponse& r,
                     std::vector<std::string> columns) {
  Listing<v1::Parameter> listing{
      columns, {{"value", [](const v1::Parameter& p) { return JsonOf(p.value()); }}}};
  Table table = Select(listing, {}, r.parameters());
  for (size_t i = 0; i < table.columns.size(); ++i)
    table.json_text[i] = table.columns[i] == "value";
  ctx.out.Print(table);
}

struct ParameterArgs {
  std::string vhost, component, name, value;
  bool global = false;
};

void SetParameter(Commands& commands) {
  auto args = Args<ParameterArgs>();
  CLI::App* command = commands.Add(
      "set_parameter", "Sets a runtime parameter; VALUE is JSON", [args](Context& ctx) {
        CheckJson("parameter value", args->value, false);
        ctx.out.Info("Setting runtime parameter " + Quoted(args->name) + " for component " +
                     Quoted(args->component) + " to " + Quoted(args->value) + " in vhost " +
                     Quoted(args->vhost) + " ...");
        v1::Parameter request;
        request.set_component(args->component);
        request.set_vhost(args->vhost);
        request.set_name(args->name);
        request.set_value(args->value);
        ctx.client.Call(&v1::Admin::Stub::SetParameter, request);
      });
  Commands::AddVhost(command, args->vhost);
  command->add_option("component", args->component, "e.g. vhost-limits")->required();
  command->add_option("name", args->name, "the parameter's name")->required();
  command->add_option("value", args->value, "JSON")->required();
}

void ClearParameter(Commands& commands) {
  auto args = Args<ParameterArgs>();
  CLI::App* command = commands.Add(
      "clear_parameter", "Clears a runtime parameter", [args](Context& ctx) {
        ctx.out.Info("Clearing runtime parameter " + Quoted(args->name) + " for component " +
                     Quoted(args->component) + " on vhost " + Quoted(args->vhost) + " ...");
        v1::ParameterRef request;
        request.set_component(args->component);
        request.set_vhost(args->vhost);
        request.set_name(args->name);
        ctx.client.Call(&v1::Admin::Stub::ClearParameter, request);
      });
  Commands::AddVhost(command, args->vhost);
  command->add_option("component", args->component, "e.g. vhost-limits")->required();
  command->add_option("name", args->name, "the parameter's name")->required();
}

void ListParameters(Commands& commands) {
  auto args = Args<ParameterArgs>();
  CLI::App* command = commands.Add(
      "list_parameters", "Lists the runtime parameters of a vhost", [args](Context& ctx) {
        ctx.out.Info("Listing runtime parameters for vhost " + Quoted(args->vhost) + " ...");
        v1::ListParametersRequest request;
        request.set_vhost(args->vhost);
        PrintParameters(ctx, ctx.client.Call(&v1::Admin::Stub::ListParameters, request),
                        {"component", "name", "value"});
      });
  Commands::AddVhost(command, args->vhost);
  commands.AddColumns(command, nullptr);
}

void GlobalParameterCommands(Commands& commands) {
  auto set = Args<ParameterArgs>();
  CLI::App* command = commands.Add(
      "set_global_parameter", "Sets a global runtime parameter; VALUE is JSON",
      [set](Context& ctx) {
        CheckJson("parameter value", set->value, false);
        ctx.out.Info("Setting global runtime parameter " + Quoted(set->name) + " to " +
                     Quoted(set->value) + " ...");
        v1::Parameter request;
        request.set_name(set->name);
        request.set_value(set->value);
        ctx.client.Call(&v1::Admin::Stub::SetParameter, request);
      });
  command->add_option("name", set->name, "the parameter's name")->required();
  command->add_option("value", set->value, "JSON")->required();

  auto clear = Args<ParameterArgs>();
  command = commands.Add(
      "clear_global_parameter", "Clears a global runtime parameter", [clear](Context& ctx) {
        ctx.out.Info("Clearing global runtime parameter " + Quoted(clear->name) + " ...");
        v1::ParameterRef request;
        request.set_name(clear->name);
        ctx.client.Call(&v1::Admin::Stub::ClearParameter, request);
      });
  command->add_option("name", clear->name, "the parameter's name")->required();

  command = commands.Add(
      "list_global_parameters", "Lists the global runtime parameters", [](Context& ctx) {
        ctx.out.Info("Listing global runtime parameters ...");
        v1::ListParametersRequest request;
        request.set_global(true);
        PrintParameters(ctx, ctx.client.Call(&v1::Admin::Stub::ListParameters, request),
                        {"name", "value"});
      });
  commands.AddColumns(command, nullptr);
}

void VhostLimitCommands(Commands& commands) {
  auto set = Args<ParameterArgs>();
  CLI::App* command = commands.Add(
      "set_vhost_limits",
      "Sets a vhost's limits, e.g. '{\"max-connections\": 64, \"max-queues\": 256}'",
      [set](Context& ctx) {
        CheckJson("vhost limits definition", set->value, true);
        ctx.out.Info("Setting vhost limits to " + Quoted(set->value) + " for vhost " +
                     Quoted(set->vhost) + " ...");
        v1::Parameter request;
        request.set_component(kLimits);
        request.set_vhost(set->vhost);
        request.set_name(kLimitsName);
        request.set_value(set->value);
        ctx.client.Call(&v1::Admin::Stub::SetParameter, request);
      });
  Commands::AddVhost(command, set->vhost);
  command->add_option("definition", set->value, "JSON object of limits")->required();

  auto clear = Args<ParameterArgs>();
  command = commands.Add(
      "clear_vhost_limits", "Clears a vhost's limits", [clear](Context& ctx) {
        ctx.out.Info("Clearing vhost " + Quoted(clear->vhost) + " limits ...");
        v1::ParameterRef request;
        request.set_component(kLimits);
        request.set_vhost(clear->vhost);
        request.set_name(kLimitsName);
        ctx.client.Call(&v1::Admin::Stub::ClearParameter, request);
      });
  Commands::AddVhost(command, clear->vhost);

  auto list = Args<ParameterArgs>();
  command = commands.Add(
      "list_vhost_limits", "Shows a vhost's limits, or every vhost's with --global",
      [list](Context& ctx) {
        ctx.out.Info(list->global ? "Listing limits for all vhosts ..."
                                  : "Listing limits for vhost " + Quoted(list->vhost) + " ...");
        v1::ListParametersRequest request;
        request.set_component(kLimits);
        if (!list->global) request.set_vhost(list->vhost);
        v1::ListParametersResponse r = ctx.client.Call(&v1::Admin::Stub::ListParameters, request);
        if (!list->global) {
          // One vhost's: its limits alone, as JSON, as rabbitmqctl prints them.
          for (const auto& p : r.parameters()) {
            if (ctx.out.json()) ctx.out.PrintJson(JsonOf(p.value()));
            else std::cout << JsonOf(p.value()).dump() << '\n';
          }
          return;
        }
        Listing<v1::Parameter> listing{
            {"vhost", "limits"},
            {{"limits", [](const v1::Parameter& p) { return JsonOf(p.value()); }}}};
        Table table = Select(listing, {}, r.parameters());
        table.json_text = {false, true};
        ctx.out.Print(table);
      });
  Commands::AddVhost(command, list->vhost);
  command->add_flag("--global", list->global, "every vhost's limits");
  commands.AddColumns(command, nullptr);
}

void SetClusterName(Commands& commands) {
  auto name = Args<std::string>();
  CLI::App* command = commands.Add(
      "set_cluster_name", "Sets the cluster's name (clients see it in connection.start)",
      [name](Context& ctx) {
        ctx.out.Info("Setting cluster name to " + *name + " ...");
        v1::Parameter request;
        request.set_name("cluster_name");
        request.set_value(json(*name).dump());
        ctx.client.Call(&v1::Admin::Stub::SetParameter, request);
      });
  command->add_option("name", *name, "the cluster's new name")->required();
}

}  // namespace

void AddParameterCommands(Commands& commands) {
  SetParameter(commands);
  ClearParameter(commands);
  ListParameters(commands);
  GlobalParameterCommands(commands);
  VhostLimitCommands(commands);
  SetClusterName(commands);
}

}  // namespace warren::ctl
