// What warrenctl prints on stdout, as rabbitmqctl 3.13 prints it: an info
// line ("Listing users ...") unless --quiet or --formatter json, then either
// a tab-separated table with a header row or a JSON array of objects.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctl/options.h"

namespace warren::ctl {

struct Table {
  std::vector<std::string> columns;
  std::vector<bool> json_text;  // per column: print objects as JSON text
  std::vector<std::vector<nlohmann::ordered_json>> rows;
};

class Output {
 public:
  explicit Output(const Options& options) : options_(options) {}

  bool json() const { return options_.json; }
  // The banner before a command runs.
  void Info(const std::string& line) const;
  // A line after success ("Done. ...", "Success"); also silenced by --quiet.
  void Note(const std::string& line) const;
  void Print(const Table& table) const;
  void PrintJson(const nlohmann::ordered_json& value) const;

 private:
  const Options& options_;
};

// One table cell: strings as they are, lists as "[a, b]", objects as
// rabbitmqctl prints argument tables ([{"x-max-length",10}]) or, with
// json_text, as compact JSON.
std::string Cell(const nlohmann::ordered_json& value, bool json_text);

}  // namespace warren::ctl
