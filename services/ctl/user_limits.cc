// User limits as rabbitmqctl 3.13 has them:
//   set_user_limits USER '{"max-connections": 10, "max-channels": 5}'  (merged
//       into the user's; a negative value is no limit)
//   clear_user_limits USER NAME|all
//   list_user_limits [--user USER] [--global]   (the user is guest by default)
// The definition is checked here: not JSON, not an object, a limit other
// than max-connections and max-channels or a value that is not an integer
// is 65 before the node is called.
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <iterator>
#include <limits>
#include <map>

#include "ctl/columns.h"
#include "ctl/command.h"
#include "ctl/error.h"

namespace warren::ctl {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kNames[] = {"max-connections", "max-channels"};

struct LimitArgs {
  std::string user = "guest";
  std::string value;  // the definition, or the name to clear
  bool global = false;
};

v1::UserLimits ReadDefinition(const std::string& user, const std::string& text) {
  v1::UserLimits limits;
  limits.set_user(user);
  const json definition = CheckJson("user limits definition", text, true);
  for (const auto& [name, value] : definition.items()) {
    if (std::find(std::begin(kNames), std::end(kNames), name) == std::end(kNames))
      throw CtlError(kExitDataErr, "unknown user limit " + Quoted(name) +
                                       ": the limits are max-connections and max-channels");
    if (!value.is_number_integer() ||
        (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())))
      throw CtlError(kExitDataErr, name + " should be an integer, actually was " + value.dump());
    (*limits.mutable_limits())[name] = value.get<int64_t>();
  }
  return limits;
}

// A user's limits as JSON, keys in order ({} for none).
json LimitsJson(const v1::UserLimits& u) {
  std::map<std::string, int64_t> sorted(u.limits().begin(), u.limits().end());
  json out = json::object();
  for (const auto& [name, n] : sorted) out[name] = n;
  return out;
}

void SetUserLimits(Commands& commands) {
  auto args = Args<LimitArgs>();
  CLI::App* command = commands.Add(
      "set_user_limits",
      "Sets a user's limits, e.g. '{\"max-connections\": 10, \"max-channels\": 5}'",
      [args](Context& ctx) {
        v1::UserLimits request = ReadDefinition(args->user, args->value);
        ctx.out.Info("Setting user limits to " + Quoted(args->value) + " for user " +
                     Quoted(args->user) + " ...");
        ctx.client.Call(&v1::Admin::Stub::SetUserLimits, request);
      });
  command->add_option("username", args->user, "the user")->required();
  command->add_option("definition", args->value, "JSON object of limits")->required();
}

void ClearUserLimits(Commands& commands) {
  auto args = Args<LimitArgs>();
  CLI::App* command = commands.Add(
      "clear_user_limits", "Clears one of a user's limits, or all of them", [args](Context& ctx) {
        ctx.out.Info((args->value == "all" ? std::string("Clearing all limits")
                                           : "Clearing " + Quoted(args->value) + " limit") +
                     " for user " + Quoted(args->user) + " ...");
        v1::ClearUserLimitsRequest request;
        request.set_user(args->user);
        request.set_name(args->value);
        ctx.client.Call(&v1::Admin::Stub::ClearUserLimits, request);
      });
  command->add_option("username", args->user, "the user")->required();
  command->add_option("limit", args->value, "max-connections, max-channels or all")->required();
}

void ListUserLimits(Commands& commands) {
  auto args = Args<LimitArgs>();
  CLI::App* command = commands.Add(
      "list_user_limits", "Shows a user's limits (guest's by default), or every user's with "
      "--global", [args](Context& ctx) {
        ctx.out.Info(args->global ? "Listing limits for all users ..."
                                  : "Listing limits for user " + Quoted(args->user) + " ...");
        v1::UserRef request;
        if (!args->global) request.set_name(args->user);
        auto response = ctx.client.Call(&v1::Admin::Stub::ListUserLimits, request);
        if (!args->global) {
          // One user's: its limits alone, as JSON, as rabbitmqctl prints them.
          json limits = json::object();
          for (const auto& u : response.users())
            if (u.user() == args->user) limits = LimitsJson(u);
          if (ctx.out.json()) ctx.out.PrintJson(limits);
          else std::cout << limits.dump() << '\n';
          return;
        }
        google::protobuf::RepeatedPtrField<v1::UserLimits> rows;
        for (const auto& u : response.users())
          if (!u.limits().empty()) *rows.Add() = u;
        Listing<v1::UserLimits> listing{{"user", "limits"}, {{"limits", LimitsJson}}};
        Table table = Select(listing, {}, rows);
        table.json_text = {false, true};
        ctx.out.Print(table);
      });
  command->add_option("--user", args->user, "the user (default guest)");
  command->add_flag("--global", args->global, "every user's limits");
  commands.AddColumns(command, nullptr);
}

}  // namespace

void AddUserLimitCommands(Commands& commands) {
  SetUserLimits(commands);
  ClearUserLimits(commands);
  ListUserLimits(commands);
}

}  // namespace warren::ctl
