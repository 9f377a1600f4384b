#include "ctl/output.h"

#include <iostream>

namespace warren::ctl {

void Output::Info(const std::string& line) const {
  if (!options_.quiet && !options_.json) std::cout << line << '\n';
}

void Output::Note(const std::string& line) const { Info(line); }

void Output::PrintJson(const nlohmann::ordered_json& value) const {
  std::cout << value.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
}

void Output::Print(const Table& table) const {
  if (options_.json) {
    // As rabbitmqctl's json formatter: one object a line, keys in column order.
    std::cout << "[";
    for (size_t r = 0; r < table.rows.size(); ++r) {
      nlohmann::ordered_json object = nlohmann::ordered_json::object();
      for (size_t i = 0; i < table.columns.size(); ++i) object[table.columns[i]] = table.rows[r][i];
      std::cout << (r ? ",\n" : "\n")
                << object.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
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
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  if (value.is_array()) {
    std::string text = "[";
    for (size_t i = 0; i < value.size(); ++i) text += (i ? ", " : "") + Cell(value[i], json_text);
    return text + "]";
  }
  if (value.is_object() && !json_text) {
    std::string text = "[";
    for (auto it = value.begin(); it != value.end(); ++it) {
      text += (it == value.begin() ? "{" : ", {") + nlohmann::ordered_json(it.key()).dump() + "," +
              it.value().dump() + "}";
    }
    return text + "]";
  }
  return value.dump();
}

}  // namespace warren::ctl
