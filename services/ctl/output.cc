#include "ctl/output.h"

#include <iostream>

#include "common/text.h"

namespace warren::ctl {
namespace {

// JSON text that never throws on a string that is not UTF-8.
std::string Dump(const nlohmann::ordered_json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

void Output::Info(const std::string& line) const {
  if (!options_.quiet && !options_.json) std::cout << line << '\n';
}

void Output::Note(const std::string& line) const { Info(line); }

void Output::PrintJson(const nlohmann::ordered_json& value) const {
  std::cout << Dump(value, 2) << '\n';
}

void Output::Print(const Table& table) const {
  if (options_.json) {
    // As rabbitmqctl's json formatter: one object a line, keys in column order.
    std::cout << "[";
    for (size_t r = 0; r < table.rows.size(); ++r) {
      nlohmann::ordered_json object = nlohmann::ordered_json::object();
      for (size_t i = 0; i < table.columns.size(); ++i) object[table.columns[i]] = table.rows[r][i];
      std::cout << (r ? ",\n" : "\n") << Dump(object);
    }
    std::cout << "\n]\n";
    return;
  }
  auto line = [](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t i = 0; i < cells.size(); ++i) text += (i ? "\t" : "") + cells[i];
    std::cout << text << '\n';
  };
  if (options_.table_headers) line(table.columns);
  for (const auto& row : table.rows) {
    std::vector<std::string> cells;
    for (size_t i = 0; i < row.size(); ++i) cells.push_back(Cell(row[i], table.json_text[i]));
    line(cells);
  }
}

std::string Cell(const nlohmann::ordered_json& value, bool json_text) {
  // Names are bytes a client chose: never let them drive the terminal.
  if (value.is_string()) return Printable(value.get<std::string>());
  if (value.is_null()) return "";
  if (value.is_array()) {
    std::string text = "[";
    for (size_t i = 0; i < value.size(); ++i) text += (i ? ", " : "") + Cell(value[i], json_text);
    return text + "]";
  }
  if (value.is_object() && !json_text) {
    std::string text = "[";
    for (auto it = value.begin(); it != value.end(); ++it) {
      text += (it == value.begin() ? "{" : ", {") + Dump(nlohmann::ordered_json(it.key())) + "," +
              Dump(it.value()) + "}";
    }
    return text + "]";
  }
  return Dump(value);
}

}  // namespace warren::ctl
