// export_definitions PATH|-, import_definitions PATH|-: RabbitMQ's
// definitions JSON, to or from a file, or stdout/stdin for "-" (silent then,
// as rabbitmqctl is). Import checks that the input parses as JSON first.
#include <fstream>
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "common/json_limits.h"
#include "ctl/command.h"
#include "ctl/error.h"

namespace warren::ctl {
namespace {

std::string ReadAll(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void Export(Context& ctx, const std::string& path) {
  if (path != "-") ctx.out.Info("Exporting definitions in JSON to a file at " + Quoted(path) + " ...");
  v1::Definitions definitions = ctx.client.Call(&v1::Admin::Stub::ExportDefinitions, v1::Empty());
  if (path == "-") {
    std::cout << definitions.json() << '\n';
    return;
  }
  std::ofstream file(path, std::ios::trunc);
  file << definitions.json() << '\n';
  file.close();
  if (!file) throw CtlError(kExitDataErr, "could not write to file " + path);
}

void Import(Context& ctx, const std::string& path) {
  std::string text;
  if (path == "-") {
    text = ReadAll(std::cin);
  } else {
    ctx.out.Info("Importing definitions in JSON from a file at " + Quoted(path) + " ...");
    std::ifstream file(path);
    if (!file) throw CtlError(kExitDataErr, "Parent directory or file " + path + " does not exist");
    text = ReadAll(file);
    if (text.empty()) throw CtlError(kExitDataErr, "File " + path + " is zero-sized");
  }
  if (!JsonDepthWithin(text)) {
    throw CtlError(kExitDataErr, "Failed to deserialise input (format: JSON): nested deeper than " +
                                     std::to_string(kMaxJsonDepth) + " levels");
  }
  nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    throw CtlError(kExitDataErr, "Failed to deserialise input (format: JSON): not a JSON object");
  }
  v1::Definitions request;
  request.set_json(text);
  ctx.client.Call(&v1::Admin::Stub::ImportDefinitions, request);
  if (path != "-") ctx.out.Note("Successfully imported definitions.");
}

}  // namespace

void AddDefinitionCommands(Commands& commands) {
  auto out = Args<std::string>();
  commands.Add("export_definitions", "Writes the definitions JSON to PATH, or stdout for -",
               [out](Context& ctx) { Export(ctx, *out); })
      ->add_option("path", *out, "file to write, or - for stdout")
      ->required();
  auto in = Args<std::string>();
  commands.Add("import_definitions", "Reads definitions JSON from PATH, or stdin for -",
               [in](Context& ctx) { Import(ctx, *in); })
      ->add_option("path", *in, "file to read, or - for stdin")
      ->required();
}

}  // namespace warren::ctl
