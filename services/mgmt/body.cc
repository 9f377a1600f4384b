#include "mgmt/body.h"

#include <charconv>

#include "common/json_limits.h"

namespace warren::mgmt {
namespace {

using nlohmann::json;

// A JSON integer, or a string of one (rabbitmqadmin sends "5"), within int64.
std::optional<int64_t> Integer(const json& v) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  int64_t out = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return out;
}

bool HasType(const json& v, Type type) {
  switch (type) {
    case Type::kString: return v.is_string();
    case Type::kBool: return v.is_boolean() || v == "true" || v == "false";
    case Type::kInteger: return Integer(v).has_value();
    case Type::kObject: return v.is_object() || (v.is_array() && v.empty());
    case Type::kTags:
      if (v.is_string()) return true;
      [[fallthrough]];
    case Type::kStrings:
      if (!v.is_array()) return false;
      for (const auto& t : v)
        if (!t.is_string()) return false;
      return true;
    case Type::kAny: return true;
  }
  return false;
}

const char* TypeName(Type type) {
  switch (type) {
    case Type::kString: return "a string";
    case Type::kBool: return "a boolean";
    case Type::kInteger: return "an integer (64-bit)";
    case Type::kObject: return "an object";
    case Type::kTags: return "a string or a list of strings";
    case Type::kStrings: return "a list of strings";
    case Type::kAny: return "a value";
  }
  return "";
}

}  // namespace

std::optional<json> ParseUntrusted(const std::string& text, std::string& why) {
  if (!JsonDepthWithin(text)) {
    why = "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return std::nullopt;
  }
  json out = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) {
    why = "not valid JSON";
    return std::nullopt;
  }
  return out;
}

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<Reply> ReadBody(const Call& call, const std::vector<Field>& fields, json& out) {
  const std::string& text = call.http.body;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    out = json::object();
  } else {
    std::string why;
    std::optional<json> parsed = ParseUntrusted(text, why);
    if (!parsed) return BadRequest("the body is " + why);
    out = parsed->is_null() ? json::object() : std::move(*parsed);  // "null" as RabbitMQ
  }
  if (!out.is_object()) return BadRequest("the body must be a JSON object");
  for (auto it = out.begin(); it != out.end();) {
    if (it->is_null()) it = out.erase(it);
    else ++it;
  }
  for (const Field& f : fields) {
    auto it = out.find(f.name);
    if (it == out.end()) {
      if (f.required) return BadRequest("field '" + std::string(f.name) + "' is missing");
      continue;
    }
    if (!HasType(*it, f.type))
      return BadRequest("field '" + std::string(f.name) + "' must be " + TypeName(f.type));
    // "true"/"false" and "5" (what rabbitmqadmin and RabbitMQ's own forms
    // send) as a boolean and a number.
    if (f.type == Type::kBool && it->is_string()) *it = *it == "true";
    if (f.type == Type::kInteger) *it = *Integer(*it);
  }
  return std::nullopt;
}

std::vector<std::string> TagList(const json& tags) {
  std::vector<std::string> out;
  auto add = [&](std::string t) {
    size_t a = t.find_first_not_of(' '), b = t.find_last_not_of(' ');
    if (a != std::string::npos) out.push_back(t.substr(a, b - a + 1));
  };
  if (tags.is_array()) {
    for (const auto& t : tags) add(t.get<std::string>());
  } else if (tags.is_string()) {
    std::string s = tags.get<std::string>();
    size_t start = 0;
    for (size_t comma; (comma = s.find(',', start)) != std::string::npos; start = comma + 1)
      add(s.substr(start, comma - start));
    add(s.substr(start));
  }
  return out;
}

std::string Text(const json& body, const char* field) {
  if (!body.contains(field) || body[field].is_null()) return "";
  const json& v = body[field];
  return v.is_string() ? v.get<std::string>() : Dump(v);
}

}  // namespace warren::mgmt
