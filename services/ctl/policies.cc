// set_policy [-p vhost] [--priority N] [--apply-to queues|exchanges|all]
// NAME PATTERN DEFINITION, clear_policy [-p vhost] NAME, list_policies; and
// the same three for operator policies (set_operator_policy, ...), which an
// administrator sets to cap what policies set (docs/parameters.md).
// DEFINITION must be a JSON object; that is checked here, the keys in it by
// the node.
#include "ctl/columns.h"
#include "ctl/command.h"

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

// The commands of one kind of policy, with rabbitmqctl's names and banners.
struct Kind {
  const char* set;
  const char* clear;
  const char* list;
  const char* set_banner;    // "Setting policy"
  const char* clear_banner;  // "Clearing policy"
  const char* list_banner;   // "Listing policies"
  const char* noun;          // "policy"
  Method<v1::Policy, v1::Empty> set_method;
  Method<v1::PolicyRef, v1::Empty> clear_method;
  Method<v1::VHostRef, v1::ListPoliciesResponse> list_method;
};

const Kind kPolicies{"set_policy", "clear_policy", "list_policies",
                     "Setting policy", "Clearing policy",
                     "Listing policies", "policy",
                     &v1::Admin::Stub::SetPolicy, &v1::Admin::Stub::ClearPolicy,
                     &v1::Admin::Stub::ListPolicies};
const Kind kOperatorPolicies{"set_operator_policy", "clear_operator_policy",
                             "list_operator_policies", "Setting operator policy override",
                             "Clearing operator policy", "Listing operator policy overrides",
                             "operator policy", &v1::Admin::Stub::SetOperatorPolicy,
                             &v1::Admin::Stub::ClearOperatorPolicy,
                             &v1::Admin::Stub::ListOperatorPolicies};

void SetPolicy(Commands& commands, const Kind& kind) {
  auto args = Args<PolicyArgs>();
  CLI::App* command = commands.Add(
      kind.set, std::string("Sets or updates ") + (kind.noun[0] == 'o' ? "an " : "a ") +
                    kind.noun + "; DEFINITION is a JSON object",
      [args, &kind](Context& ctx) {
        CheckJson("policy definition", args->definition, true);
        ctx.out.Info(std::string(kind.set_banner) + " " + Quoted(args->name) + " for pattern " +
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
        ctx.client.Call(kind.set_method, request);
      });
  Commands::AddVhost(command, args->vhost);
  command->add_option("--priority", args->priority, "higher wins when several match (0)");
  command->add_option("--apply-to", args->apply_to, "queues, exchanges or all (all)")
      ->check(CLI::IsMember({"queues", "exchanges", "all"}));
  command->add_option("name", args->name, "the policy's name")->required();
  command->add_option("pattern", args->pattern, "regex of queue/exchange names")->required();
  command->add_option("definition", args->definition, "JSON object of policy keys")->required();
}

void ClearPolicy(Commands& commands, const Kind& kind) {
  auto args = Args<PolicyArgs>();
  CLI::App* command = commands.Add(
      kind.clear, std::string("Removes ") + (kind.noun[0] == 'o' ? "an " : "a ") + kind.noun,
      [args, &kind](Context& ctx) {
    ctx.out.Info(std::string(kind.clear_banner) + " " + Quoted(args->name) + " on vhost " +
                 Quoted(args->vhost) + " ...");
    v1::PolicyRef request;
    request.set_vhost(args->vhost);
    request.set_name(args->name);
    ctx.client.Call(kind.clear_method, request);
  });
  Commands::AddVhost(command, args->vhost);
  command->add_option("name", args->name, "the policy's name")->required();
}

void ListPolicies(Commands& commands, const Kind& kind) {
  auto [command, vhost] = AddNamedListing(
      commands, kind.list, std::string(kind.list_banner) + " of a vhost",
      std::string(kind.list_banner) + " for vhost \"{name}\" ...",
      kind.list_method, &v1::ListPoliciesResponse::policies,
      Listing<v1::Policy>{{"vhost", "name", "pattern", "apply-to", "definition", "priority"},
                          {{"apply-to", [](const v1::Policy& p) {
                              return nlohmann::ordered_json(p.apply_to().empty() ? "all" : p.apply_to());
                            }}}});
  Commands::AddVhost(command, *vhost);
}

}  // namespace

void AddPolicyCommands(Commands& commands) {
  for (const Kind* kind : {&kPolicies, &kOperatorPolicies}) {
    SetPolicy(commands, *kind);
    ClearPolicy(commands, *kind);
    ListPolicies(commands, *kind);
  }
}

}  // namespace warren::ctl
