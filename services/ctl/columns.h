// A listing's columns are the fields of its admin.proto message, by name
// (found through protobuf reflection), plus rabbitmqctl's own names for some
// of them (Listing::extras, e.g. list_bindings' source_name). Select() keeps
// the columns asked for, in that order, or the listing's defaults; an
// unknown column is a usage error naming it.
#pragma once

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include <google/protobuf/message.h>
#include <google/protobuf/repeated_field.h>
#include <nlohmann/json.hpp>

#include "ctl/output.h"

namespace warren::ctl {

template <typename Msg>
struct Listing {
  struct Extra {
    std::string name;
    std::function<nlohmann::ordered_json(const Msg&)> get;
  };
  std::vector<std::string> defaults;
  std::vector<Extra> extras;
};

// One field's value: numbers and booleans as JSON numbers and booleans,
// repeated strings as arrays, fields that hold JSON text (arguments,
// client_properties, definition) as the JSON they hold.
nlohmann::ordered_json FieldValue(const google::protobuf::Message& message, const std::string& field);

// Throws CtlError(kExitUsage) naming `column` and the supported ones.
[[noreturn]] void UnknownColumn(const std::string& column, const std::vector<std::string>& known);

std::vector<std::string> FieldNames(const google::protobuf::Descriptor* descriptor);

template <typename Msg>
Table Select(const Listing<Msg>& listing, std::vector<std::string> wanted,
             const google::protobuf::RepeatedPtrField<Msg>& rows) {
  if (wanted.empty()) wanted = listing.defaults;
  std::vector<std::string> fields = FieldNames(Msg::descriptor());
  std::vector<std::function<nlohmann::ordered_json(const Msg&)>> getters;
  Table table;
  for (const std::string& column : wanted) {
    const typename Listing<Msg>::Extra* extra = nullptr;
    for (const auto& e : listing.extras) extra = e.name == column ? &e : extra;
    if (extra != nullptr) {
      getters.push_back(extra->get);
    } else if (std::find(fields.begin(), fields.end(), column) != fields.end()) {
      getters.push_back([column](const Msg& m) { return FieldValue(m, column); });
    } else {
      for (const auto& e : listing.extras) fields.push_back(e.name);
      UnknownColumn(column, fields);
    }
    table.columns.push_back(column);
    table.json_text.push_back(column == "definition");
  }
  for (const Msg& row : rows) {
    auto& cells = table.rows.emplace_back();
    for (const auto& get : getters) cells.push_back(get(row));
  }
  return table;
}

}  // namespace warren::ctl
