#include "broker/admin/json_values.h"

#include <nlohmann/json.hpp>

namespace warren::admin {

using nlohmann::json;

json ToJson(const amqp::FieldValue& v) {
  if (auto i = v.AsInt()) return *i;
  if (auto b = std::get_if<bool>(&v.value)) return *b;
  if (auto f = std::get_if<float>(&v.value)) return *f;
  if (auto d = std::get_if<double>(&v.value)) return *d;
  if (auto dec = std::get_if<amqp::Decimal>(&v.value)) {
    double x = dec->value;
    for (int i = 0; i < dec->scale; ++i) x /= 10;
    return x;
  }
  if (const std::string* s = v.AsString()) return *s;
  if (const amqp::FieldTable* t = v.AsTable()) return ToJson(*t);
  if (const amqp::FieldArray* a = v.AsArray()) {
    json out = json::array();
    for (const auto& e : *a) out.push_back(ToJson(e));
    return out;
  }
  return nullptr;
}

json ToJson(const amqp::FieldTable& table) {
  json out = json::object();
  // The first of duplicate keys is the one that counts (FieldTable::Find).
  for (const auto& [k, v] : table.entries)
    if (!out.contains(k)) out[k] = ToJson(v);
  return out;
}

amqp::FieldValue ValueFromJson(const json& j) {
  switch (j.type()) {
    case json::value_t::boolean: return amqp::FieldValue::Bool(j.get<bool>());
    case json::value_t::number_integer: return amqp::FieldValue::Long(j.get<int64_t>());
    case json::value_t::number_unsigned:
      return amqp::FieldValue::Long(static_cast<int64_t>(j.get<uint64_t>()));
    case json::value_t::number_float: return {'d', j.get<double>()};
    case json::value_t::string: return amqp::FieldValue::Str(j.get<std::string>());
    case json::value_t::array: {
      amqp::FieldArray a;
      for (const auto& e : j) a.push_back(ValueFromJson(e));
      return amqp::FieldValue::Array(std::move(a));
    }
    case json::value_t::object: {
      amqp::FieldTable t;
      for (const auto& [k, v] : j.items()) t.entries.emplace_back(k, ValueFromJson(v));
      return amqp::FieldValue::Table(std::move(t));
    }
    default: return amqp::FieldValue::Void();
  }
}

bool TableFromJson(const json& j, amqp::FieldTable& out, std::string& error) {
  if (j.is_null()) return true;
  if (!j.is_object()) {
    error = "expected a JSON object, got " + std::string(j.type_name());
    return false;
  }
  out = *ValueFromJson(j).AsTable();
  return true;
}

}  // namespace warren::admin
