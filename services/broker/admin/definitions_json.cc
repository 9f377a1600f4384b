#include "broker/admin/definitions_json.h"

#include <nlohmann/json.hpp>

#include "amqp/constants.h"
#include "broker/admin/json_values.h"
#include "broker/core/broker.h"
#include "broker/core/errors.h"
#include "broker/core/policy.h"
#include "common/file.h"
#include "common/password.h"
#include "common/version.h"

namespace warren::admin {

using nlohmann::json;

namespace {

constexpr const char* kHashing = "rabbit_password_hashing_sha256";

Error Bad(const std::string& text) {
  return core::AmqpError(amqp::ReplyCode::kPreconditionFailed, text);
}

amqp::FieldTable Table(const json& item, const char* key, const std::string& where) {
  amqp::FieldTable t;
  std::string error;
  if (item.contains(key) && !TableFromJson(item[key], t, error))
    throw std::invalid_argument(where + ": " + key + ": " + error);
  return t;
}

// Tags are a list in 3.13 and a comma-separated string before.
std::vector<std::string> Tags(const json& tags) {
  std::vector<std::string> out;
  if (tags.is_array()) {
    for (const auto& t : tags) out.push_back(t.get<std::string>());
  } else if (tags.is_string()) {
    std::string s = tags.get<std::string>();
    for (size_t at = 0; at <= s.size();) {
      size_t comma = std::min(s.find(',', at), s.size());
      if (comma > at) out.push_back(s.substr(at, comma - at));
      at = comma + 1;
    }
  }
  return out;
}

void ExportVHostObjects(const core::VHost& v, json& out) {
  for (const auto& [name, p] : v.policies())
    out["policies"].push_back({{"vhost", v.name()}, {"name", name}, {"pattern", p.pattern},
                               {"apply-to", core::ApplyToName(p.apply_to)},
                               {"definition", ToJson(p.definition)}, {"priority", p.priority}});
  for (const auto& [name, q] : v.queues())
    if (q->durable() && !q->exclusive_owner())
      out["queues"].push_back({{"name", name}, {"vhost", v.name()}, {"durable", true},
                               {"auto_delete", q->auto_delete()},
                               {"arguments", ToJson(q->options().arguments)}});
  auto durable = [&](const core::Destination& d) {
    if (d.kind == core::Destination::Kind::kQueue) {
      auto q = v.queues().find(d.name);
      return q != v.queues().end() && q->second->durable() && !q->second->exclusive_owner();
    }
    auto e = v.exchanges().find(d.name);
    return e != v.exchanges().end() && e->second->durable();
  };
  for (const auto& entry : v.exchanges()) {
    // Not a structured binding: clang before 16 cannot capture one in the
    // lambda below (the fuzzers are built with Debian's clang 14).
    const std::string& name = entry.first;
    const auto& e = entry.second;
    if (!e->durable()) continue;
    if (name.rfind("amq.", 0) != 0)
      out["exchanges"].push_back({{"name", name}, {"vhost", v.name()}, {"type", e->type()},
                                  {"durable", true}, {"auto_delete", e->auto_delete()},
                                  {"internal", e->internal()},
                                  {"arguments", ToJson(e->options().arguments)}});
    e->router().ForEach([&](const core::BindingSpec& b) {
      if (!durable(b.destination)) return;
      out["bindings"].push_back(
          {{"source", name}, {"vhost", v.name()}, {"destination", b.destination.name},
           {"destination_type",
            b.destination.kind == core::Destination::Kind::kQueue ? "queue" : "exchange"},
           {"routing_key", b.routing_key}, {"arguments", ToJson(b.arguments)}});
    });
  }
}

}  // namespace

json ExportDefinitions(const core::Broker& broker) {
  json out = {{"rabbit_version", kRabbitCompatibleVersion},
              {"rabbitmq_version", kRabbitCompatibleVersion},
              {"product_name", "Warren"}, {"product_version", kWarrenVersion},
              {"users", json::array()}, {"vhosts", json::array()},
              {"permissions", json::array()}, {"topic_permissions", json::array()},
              {"parameters", json::array()}, {"global_parameters", json::array()},
              {"policies", json::array()}, {"queues", json::array()},
              {"exchanges", json::array()}, {"bindings", json::array()}};
  for (const auto& [name, u] : broker.users())
    out["users"].push_back({{"name", name}, {"password_hash", u.password_hash},
                            {"hashing_algorithm", kHashing}, {"tags", u.tags},
                            {"limits", json(u.limits)}});
  for (const auto& [name, v] : broker.vhosts()) {
    const core::VHostMetadata& m = v->metadata();
    json meta = {{"description", m.description}, {"tags", m.tags}};
    if (!m.default_queue_type.empty()) meta["default_queue_type"] = m.default_queue_type;
    json item = meta;
    item["name"] = name;
    item["metadata"] = meta;
    out["vhosts"].push_back(std::move(item));
    ExportVHostObjects(*v, out);
  }
  for (const auto& [key, value] : broker.parameters()) {
    const auto& [component, vhost, name] = key;
    json parsed = json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (component.empty())
      out["global_parameters"].push_back({{"name", name}, {"value", parsed}});
    else
      out["parameters"].push_back(
          {{"value", parsed}, {"vhost", vhost}, {"component", component}, {"name", name}});
  }
  for (const auto& [user, per_vhost] : broker.permissions())
    for (const auto& [vhost, p] : per_vhost)
      out["permissions"].push_back({{"user", user}, {"vhost", vhost},
                                    {"configure", p.configure}, {"write", p.write},
                                    {"read", p.read}});
  for (const auto& [user, per_vhost] : broker.topic_permissions())
    for (const auto& [vhost, per_exchange] : per_vhost)
      for (const auto& [exchange, p] : per_exchange)
        out["topic_permissions"].push_back({{"user", user}, {"vhost", vhost},
                                            {"exchange", exchange}, {"write", p.write},
                                            {"read", p.read}});
  return out;
}

namespace {

const json& Section(const json& d, const char* key) {
  static const json kEmpty = json::array();
  if (!d.contains(key) || d[key].is_null()) return kEmpty;
  if (!d[key].is_array()) throw std::invalid_argument(std::string(key) + " must be a list");
  return d[key];
}

// A step for an object of a vhost: the vhost must exist when it runs.
ImportStep InVHost(const json& item, const std::string& where, core::Command command) {
  return ImportStep{std::move(command), item.value("vhost", std::string("/")), where};
}

Result<core::cmd::AddUser> PlanUser(const json& u) {
  std::string name = u.at("name").get<std::string>();
  std::string where = "user '" + name + "'";
  std::string hash;
  if (u.contains("password_hash") && !u["password_hash"].get<std::string>().empty()) {
    std::string algorithm = u.value("hashing_algorithm", std::string(kHashing));
    if (algorithm != kHashing)
      return Bad(where + ": hashing_algorithm " + algorithm + " is not supported (only " +
                 kHashing + ")");
    hash = u["password_hash"].get<std::string>();
    if (!IsValidPasswordHash(hash)) return Bad(where + ": password_hash is not a SHA-256 hash");
  } else if (u.contains("password")) {
    hash = HashPassword(u["password"].get<std::string>());
  }
  return core::cmd::AddUser{name, hash, Tags(u.value("tags", json()))};
}

Status PlanObjects(const json& d, std::vector<ImportStep>& out) {
  for (const auto& p : Section(d, "policies")) {
    core::cmd::SetPolicy c;
    c.name = p.at("name").get<std::string>();
    std::string where = "policy '" + c.name + "'";
    c.vhost = p.value("vhost", std::string("/"));
    c.pattern = p.at("pattern").get<std::string>();
    auto apply = core::ParseApplyTo(p.value("apply-to", std::string("all")));
    if (!apply) return Bad(where + ": apply-to must be queues, exchanges or all");
    c.apply_to = *apply;
    c.priority = p.value("priority", 0);
    c.definition = Table(p, "definition", where);
    out.push_back(InVHost(p, where, std::move(c)));
  }
  for (const auto& e : Section(d, "exchanges")) {
    core::cmd::DeclareExchange c;
    c.name = e.at("name").get<std::string>();
    std::string where = "exchange '" + c.name + "'";
    c.vhost = e.value("vhost", std::string("/"));
    c.type = e.at("type").get<std::string>();
    c.durable = e.value("durable", true);
    c.auto_delete = e.value("auto_delete", false);
    c.internal = e.value("internal", false);
    c.arguments = Table(e, "arguments", where);
    out.push_back(InVHost(e, where, std::move(c)));
  }
  for (const auto& q : Section(d, "queues")) {
    core::cmd::DeclareQueue c;
    c.name = q.at("name").get<std::string>();
    std::string where = "queue '" + c.name + "'";
    if (c.name.empty()) return Bad(where + ": a queue needs a name");
    c.vhost = q.value("vhost", std::string("/"));
    c.durable = q.value("durable", true);
    c.auto_delete = q.value("auto_delete", false);
    c.arguments = Table(q, "arguments", where);
    out.push_back(InVHost(q, where, std::move(c)));
  }
  for (const auto& b : Section(d, "bindings")) {
    core::cmd::Bind c;
    c.source = b.at("source").get<std::string>();
    c.destination = b.at("destination").get<std::string>();
    std::string where = "binding '" + c.source + "' -> '" + c.destination + "'";
    c.vhost = b.value("vhost", std::string("/"));
    c.routing_key = b.value("routing_key", std::string());
    c.arguments = Table(b, "arguments", where);
    std::string kind = b.value("destination_type", std::string("queue"));
    if (kind != "queue" && kind != "exchange")
      return Bad(where + ": destination_type must be queue or exchange");
    c.to_queue = kind == "queue";
    out.push_back(InVHost(b, where, std::move(c)));
  }
  return Status::Ok();
}

// A vhost with its metadata, top-level or under "metadata" (RabbitMQ
// exports both); tags a list or one comma-separated string. Created, or an
// existing vhost's metadata replaced, as RabbitMQ's import does.
core::cmd::AddVHost PlanVHost(const json& v, const std::string& name) {
  const json& m = v.contains("metadata") && v["metadata"].is_object() ? v["metadata"] : v;
  core::cmd::AddVHost c{.name = name, .update = true};
  c.metadata.description = m.value("description", std::string());
  c.metadata.default_queue_type = m.value("default_queue_type", std::string());
  if (m.contains("tags") && m["tags"].is_array()) {
    c.metadata.tags = m["tags"].get<std::vector<std::string>>();
  } else if (m.contains("tags") && m["tags"].is_string()) {
    std::string tags = m["tags"].get<std::string>();
    for (size_t at = 0; at <= tags.size();) {
      size_t comma = std::min(tags.find(',', at), tags.size());
      if (comma > at) c.metadata.tags.push_back(tags.substr(at, comma - at));
      at = comma + 1;
    }
  }
  return c;
}

}  // namespace

Result<std::vector<ImportStep>> PlanImport(const json& d) {
  if (!d.is_object()) return Bad("definitions must be a JSON object");
  std::vector<ImportStep> steps;
  try {
    for (const auto& v : Section(d, "vhosts")) {
      std::string name = v.at("name").get<std::string>();
      steps.push_back({PlanVHost(v, name), "", "vhost '" + name + "'"});
    }
    for (const auto& u : Section(d, "users")) {
      auto user = PlanUser(u);
      if (!user.ok()) return user.error();
      std::string where = "user '" + user.value().name + "'";
      std::string name = user.value().name;
      steps.push_back({std::move(user.value()), "", where});
      // RabbitMQ's exports give every user "limits", mostly {}.
      const json& limits = u.contains("limits") ? u["limits"] : json();
      if (!limits.is_null() && !limits.empty()) {
        if (!limits.is_object()) throw std::invalid_argument("limits of " + where + ": not an object");
        core::cmd::SetUserLimits c{name, {}};
        for (const auto& [limit, value] : limits.items()) {
          if (!value.is_number_integer())
            throw std::invalid_argument("limit " + limit + " of " + where + ": not an integer");
          c.limits[limit] = value.get<int64_t>();
        }
        steps.push_back({std::move(c), "", "limits of " + where});
      }
    }
    for (const auto& p : Section(d, "permissions")) {
      core::cmd::SetPermissions c{p.at("user").get<std::string>(),
                                  p.value("vhost", std::string("/")),
                                  p.value("configure", std::string()),
                                  p.value("write", std::string()), p.value("read", std::string())};
      std::string where = "permissions of '" + c.user + "' in '" + c.vhost + "'";
      steps.push_back({std::move(c), "", std::move(where)});
    }
    for (const auto& p : Section(d, "topic_permissions")) {
      core::cmd::SetTopicPermission c{p.at("user").get<std::string>(),
                                      p.value("vhost", std::string("/")),
                                      p.at("exchange").get<std::string>(),
                                      p.value("write", std::string()),
                                      p.value("read", std::string())};
      std::string where = "topic permission of '" + c.user + "' on exchange '" + c.exchange +
                          "' in '" + c.vhost + "'";
      steps.push_back(InVHost(p, where, std::move(c)));
    }
    if (Status s = PlanObjects(d, steps); !s.ok()) return s.error();
    // After the queues: a vhost's queue limit may be below what it holds.
    for (const auto& p : Section(d, "parameters")) {
      core::cmd::SetParameter c{p.at("component").get<std::string>(),
                                p.value("vhost", std::string("/")),
                                p.at("name").get<std::string>(), Dump(p.at("value"))};
      std::string where = "parameter '" + c.name + "' of '" + c.component + "'";
      steps.push_back(InVHost(p, where, std::move(c)));
    }
    for (const auto& p : Section(d, "global_parameters")) {
      core::cmd::SetParameter c{"", "", p.at("name").get<std::string>(), Dump(p.at("value"))};
      // The permanent id never changes: another cluster's export keeps ours.
      c.only_if_absent = c.name == core::kClusterIdParameter;
      std::string where = "global parameter '" + c.name + "'";
      steps.push_back({std::move(c), "", std::move(where)});
    }
  } catch (const std::exception& e) {
    // json::exception (a missing key, a wrong type) and our own.
    return Bad(std::string("invalid definitions: ") + e.what());
  }
  return steps;
}

Status CheckImportStep(const core::Broker& broker, const ImportStep& step) {
  if (step.vhost.empty() || broker.vhosts().count(step.vhost)) return Status::Ok();
  return Bad(step.where + ": vhost '" + step.vhost + "' does not exist");
}

Result<std::vector<ImportStep>> ReadDefinitionsFile(const std::string& path) {
  auto failed = [&](const std::string& why) {
    return Error{400, "load_definitions " + path + ": " + why};
  };
  Result<std::string> text = ReadFileBounded(path, kMaxDefinitionsFileSize);
  if (!text.ok()) return failed(text.error().text);
  json d;
  std::string error;
  if (!ParseJson(text.value(), "the definitions", d, error)) return failed(error);
  auto steps = PlanImport(d);
  if (!steps.ok()) return failed(steps.error().text);
  return steps;
}

}  // namespace warren::admin
