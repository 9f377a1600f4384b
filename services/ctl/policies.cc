// set_policy [-p vhost] [--priority N] [--apply-to queues|exchanges|all]
// NAME PATTERN DEFINITION, clear_policy [-p vhost] NAME, list_policies.
// DEFINITION must be a JSON object; that is checked here, the keys in it by
// the node.
#include "common/json_limits.h"
#include "ctl/columns.h"
#include "ctl/command.h"
#include "ctl/error.h"

namespace warren::ctl {
namespace {

struct PolicyArgs {
  std::string vhost;
  std::string name;
  std::string pattern;
  std::string definition;
  std::string apply_to = "all";
  int priority = 0;
};

void CheckDefinition(const std::string& text) {
  if (!JsonDepthWithin(text)) {
    throw CtlError(kExitDataErr, "policy definition nests deeper than " +
                                     std::to_string(kMaxJsonDepth) + " levels");
  }
  nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(text, nullptr, false);
  if (parsed.is_discarded()) {
    throw CtlError(kExitDataErr, "policy definition is not valid JSON: " + text);
  }
  if (!parsed.is_object()) {
    throw CtlError(kExitDataErr, "policy definition must be a JSON object, got: " + text);
  }
}

void SetPolicy(Commands& commands) {
  auto args = Args<PolicyArgs>();
  CLI::App* command = commands.Add(
      "set_policy", "Sets or updates a policy; DEFINITION is a JSON object",
      [args](Context& ctx) {
        CheckDefinition(args->definition);
        ctx.out.Info("Setting policy " + Quoted(args->name) + " for pattern " +
                     Quoted(args->pattern) + " to " + Quoted(args->definition) +
                     " with priority " + Quoted(std::to_string(args->priority)) + " for vhost " +
                     Quoted(args->vhost) + " ...");
        v1::Policy request;
        request.set_vhost(args->vhost);
        request.set_name(args->name);
        request.set_pattern(args->pattern);
        request.set_definition(args->definition);
        request.set_apply_to(args->apply_to);
        request.set_priority(args->priority);
        ctx.client.Call(&v1::Admin::Stub::SetPolicy, request);
      });
  Commands::AddVhost(command, args->vhost);
  command->add_option("--priority", args->priority, "higher wins when several match (0)");
  command->add_option("--apply-to", args->apply_to, "queues, exchanges or all (all)")
      ->check(CLI::IsMember({"queues", "exchanges", "all"}));
  command->add_option("name", args->name, "the policy's name")->required();
  command->add_option("pattern", args->pattern, "regex of queue/exchange names")->required();
  command->add_option("definition", args->definition, "JSON object of policy keys")->required();
}

void ClearPolicy(Commands& commands) {
  auto args = Args<PolicyArgs>();
  CLI::App* command = commands.Add("clear_policy", "Removes a policy", [args](Context& ctx) {
    ctx.out.Info("Clearing policy " + Quoted(args->name) + " on vhost " + Quoted(args->vhost) +
                 " ...");
    v1::PolicyRef request;
    request.set_vhost(args->vhost);
    request.set_name(args->name);
    ctx.client.Call(&v1::Admin::Stub::ClearPolicy, request);
  });
  Commands::AddVhost(command, args->vhost);
  command->add_option("name", args->name, "the policy's name")->required();
}

void ListPolicies(Commands& commands) {
  auto [command, vhost] = AddNamedListing(
      commands, "list_policies", "Lists the policies of a vhost",
      "Listing policies for vhost \"{name}\" ...",
      &v1::Admin::Stub::ListPolicies, &v1::ListPoliciesResponse::policies,
      Listing<v1::Policy>{{"vhost", "name", "pattern", "apply-to", "definition", "priority"},
                          {{"apply-to", [](const v1::Policy& p) {
                              return nlohmann::ordered_json(p.apply_to().empty() ? "all" : p.apply_to());
                            }}}});
  Commands::AddVhost(command, *vhost);
}

}  // namespace

void AddPolicyCommands(Commands& commands) {
  SetPolicy(commands);
  ClearPolicy(commands);
  ListPolicies(commands);
}

}  // namespace warren::ctl
