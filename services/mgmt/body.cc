#include "mgmt/body.h"

namespace warren::mgmt {
namespace {

using nlohmann::json;

bool HasType(const json& v, Type type) {
  switch (type) {
    case Type::kString: return v.is_string();
    case Type::kBool: return v.is_boolean() || v == "true" || v == "false";
    case Type::kInteger:
      return v.is_number_integer() ||
             (v.is_string() && !v.get<std::string>().empty() && v.get<std::string>().size() < 19 &&
              v.get<std::string>().find_first_not_of("0123456789") == std::string::npos);
    case Type::kObject: return v.is_object() || (v.is_array() && v.empty());
    case Type::kTags:
      if (v.is_string()) return true;
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
    case Type::kInteger: return "an integer";
    case Type::kObject: return "an object";
    case Type::kTags: return "a string or a list of strings";
    case Type::kAny: return "a value";
  }
  return "";
}

}  // namespace

std::optional<Reply> ReadBody(const Call& call, const std::vector<Field>& fields, json& out) {
  const std::string& text = call.http.body;
  out = text.find_first_not_of(" \t\r\n") == std::string::npos
            ? json::object()
            : json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) return BadRequest("the body is not valid JSON");
  if (!out.is_object()) return BadRequest("the body must be a JSON object");
  for (const auto& [key, value] : out.items()) {
    const Field* f = nullptr;
    for (const Field& candidate : fields)
      if (key == candidate.name) f = &candidate;
    if (!f) return BadRequest("unknown field '" + key + "'");
    if (!value.is_null() && !HasType(value, f->type))
      return BadRequest("field '" + key + "' must be " + TypeName(f->type));
  }
  for (const Field& f : fields)
    if (f.required && (!out.contains(f.name) || out[f.name].is_null()))
      return BadRequest("field '" + std::string(f.name) + "' is missing");
  // "true"/"false" and "5" (what rabbitmqadmin and RabbitMQ's own forms
  // send) as a boolean and a number.
  for (const Field& f : fields) {
    if (!out.contains(f.name) || !out[f.name].is_string()) continue;
    if (f.type == Type::kBool) out[f.name] = out[f.name] == "true";
    if (f.type == Type::kInteger) out[f.name] = std::stoll(out[f.name].get<std::string>());
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
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace warren::mgmt
