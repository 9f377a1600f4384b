#include "ctl/command.h"

#include "common/json_limits.h"
#include "ctl/error.h"

namespace warren::ctl {

CLI::App* Commands::Add(const std::string& name, const std::string& description, Run run) {
  CLI::App* command = app_.add_subcommand(name, description);
  command->add_option("--formatter", flags_.formatter, "table (default) or json")
      ->check(CLI::IsMember({"table", "json"}));
  command->add_flag("-q,--quiet", flags_.quiet, "no informational lines");
  command->add_flag("-s,--silent", flags_.silent,
                    "no informational lines nor table headers; health checks print nothing");
  command->add_option("-t,--timeout", flags_.timeout_seconds, "seconds to wait for the node");
  runs_.emplace(command, std::move(run));
  return command;
}

void Commands::AddVhost(CLI::App* command, std::string& vhost) {
  vhost = "/";
  command->add_option("-p,--vhost", vhost, "virtual host (default \"/\")");
}

void Commands::AddColumns(CLI::App* command, std::vector<std::string>* columns) {
  command->add_flag("--no-table-headers", flags_.no_table_headers, "leave out the header row");
  if (columns != nullptr) command->add_option("columns", *columns, "columns to show, in order");
}

std::string Fill(std::string text, const std::string& key, const std::string& value) {
  if (auto at = text.find(key); at != std::string::npos) text.replace(at, key.size(), value);
  return text;
}

nlohmann::ordered_json CheckJson(const std::string& what, const std::string& text, bool object) {
  if (!JsonDepthWithin(text))
    throw CtlError(kExitDataErr,
                   what + " nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  auto parsed = nlohmann::ordered_json::parse(text, nullptr, false);
  if (parsed.is_discarded()) throw CtlError(kExitDataErr, what + " is not valid JSON: " + text);
  if (object && !parsed.is_object())
    throw CtlError(kExitDataErr, what + " must be a JSON object, got: " + text);
  return parsed;
}

const Run* Commands::Chosen() const {
  for (const auto& [command, run] : runs_) {
    if (command->parsed()) return &run;
  }
  return nullptr;
}

}  // namespace warren::ctl
