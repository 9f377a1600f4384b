#include "mgmt/listing.h"

#include <algorithm>
#include <memory>

#include <re2/re2.h>

#include "common/text.h"
#include "mgmt/body.h"

namespace warren::mgmt {
namespace {

using nlohmann::json;

constexpr int64_t kMaxPageSize = 500;

const json* FieldAt(const json& item, const std::string& dotted) {
  const json* at = &item;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    std::string key = dotted.substr(start, dot == std::string::npos ? dot : dot - start);
    if (!at->is_object() || !at->contains(key)) return nullptr;
    at = &(*at)[key];
    if (dot == std::string::npos) return at;
    start = dot + 1;
  }
}

bool ParsePositive(const std::string& text, int64_t& out) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  out = std::stoll(text);
  return out >= 1;
}

// Keeps the items whose name matches; false on a bad regular expression.
// RE2 matches in time linear in the text, whatever the pattern (a
// backtracking engine can spin for ever on "(a*)*b"); what it cannot do in
// that time (backreferences, lookaround) is a bad expression here.
bool FilterByName(json& items, const std::string& name, bool regex) {
  if (name.empty()) return true;
  std::unique_ptr<RE2> re;
  if (regex) {
    RE2::Options options;
    options.set_case_sensitive(false);
    options.set_log_errors(false);
    re = std::make_unique<RE2>(name, options);
    if (!re->ok()) return false;
  }
  const std::string lower_name = AsciiLower(name);
  json kept = json::array();
  for (auto& item : items) {
    const json* n = FieldAt(item, "name");
    std::string text = n && n->is_string() ? n->get<std::string>() : "";
    bool match = regex ? RE2::PartialMatch(text, *re)
                       : AsciiLower(text).find(lower_name) != std::string::npos;
    if (match) kept.push_back(std::move(item));
  }
  items = std::move(kept);
  return true;
}

void Sort(json& items, const std::string& key, bool reverse) {
  if (key.empty()) {
    if (reverse) std::reverse(items.begin(), items.end());
    return;
  }
  std::stable_sort(items.begin(), items.end(), [&](const json& a, const json& b) {
    const json* x = FieldAt(a, key);
    const json* y = FieldAt(b, key);
    if (!x || !y) return !x && y;  // missing fields first
    return *x < *y;
  });
  if (reverse) std::reverse(items.begin(), items.end());
}

json Columns(const json& item, const std::string& columns) {
  json out = json::object();
  size_t start = 0;
  while (start <= columns.size()) {
    size_t comma = columns.find(',', start);
    std::string col = columns.substr(start, comma == std::string::npos ? comma : comma - start);
    if (const json* v = col.empty() ? nullptr : FieldAt(item, col)) {
      json* into = &out;
      size_t s = 0;
      for (size_t dot; (dot = col.find('.', s)) != std::string::npos; s = dot + 1)
        into = &(*into)[col.substr(s, dot - s)];
      (*into)[col.substr(s)] = *v;
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// What disable_stats leaves out of an object: message_stats and rates,
// also those of its totals (queue_totals.messages_details).
void DropStats(json& item) {
  if (!item.is_object()) return;
  auto is_rate = [](const std::string& key) {
    return key.size() > 8 && key.compare(key.size() - 8, 8, "_details") == 0;
  };
  for (auto it = item.begin(); it != item.end();) {
    const std::string& key = it.key();
    if (key == "message_stats" || is_rate(key)) {
      it = item.erase(it);
      continue;
    }
    if (key.size() > 7 && key.compare(key.size() - 7, 7, "_totals") == 0 && it->is_object())
      for (auto in = it->begin(); in != it->end();)
        in = is_rate(in.key()) ? it->erase(in) : std::next(in);
    ++it;
  }
}

template <typename Items>
std::optional<Reply> Named(const Items& items, const std::string& name, const std::string& kind) {
  for (const auto& item : items)
    if (item.name() == name) return std::nullopt;
  return NotFound(kind + " '" + name + "' not found");
}

}  // namespace

std::optional<Reply> RequireVHost(Call& call, const std::string& name) {
  v1::ListVHostsResponse r;
  if (auto e = call.Rpc(&v1::Admin::Stub::ListVHosts, v1::Empty{}, r)) return e;
  return Named(r.vhosts(), name, "vhost");
}

std::optional<Reply> RequireUser(Call& call, const std::string& name) {
  v1::ListUsersResponse r;
  if (auto e = call.Rpc(&v1::Admin::Stub::ListUsers, v1::Empty{}, r)) return e;
  return Named(r.users(), name, "user");
}

Reply Shape(const Call& call, Reply reply) {
  const std::string columns = call.Query("columns");
  const bool no_stats = call.QueryFlag("disable_stats");
  if (reply.status != 200 || reply.content_type != "application/json" || reply.body.empty() ||
      (columns.empty() && !no_stats))
    return reply;
  json body = json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return reply;
  auto shape = [&](json& item) {
    if (no_stats) DropStats(item);
    if (!columns.empty() && item.is_object()) item = Columns(item, columns);
  };
  json* items = &body;
  if (call.HasQuery("page") && body.is_object() && body.contains("items")) items = &body["items"];
  if (items->is_array()) {
    for (auto& item : *items) shape(item);
  } else {
    shape(*items);
  }
  reply.body = Dump(body);
  return reply;
}

Reply ListReply(const Call& call, json items) {
  const size_t total = items.size();
  if (!FilterByName(items, call.Query("name"), call.QueryFlag("use_regex")))
    return BadRequest("invalid regular expression in 'name' (RE2 syntax)");
  Sort(items, call.Query("sort"), call.QueryFlag("sort_reverse"));
  if (!call.HasQuery("page")) return Json(items);

  int64_t page = 0, page_size = 100;
  if (!ParsePositive(call.Query("page"), page))
    return BadRequest("page must be a positive integer");
  if (call.HasQuery("page_size") &&
      (!ParsePositive(call.Query("page_size"), page_size) || page_size > kMaxPageSize))
    return BadRequest("page_size must be between 1 and 500");
  const int64_t filtered = static_cast<int64_t>(items.size());
  const int64_t page_count = (filtered + page_size - 1) / page_size;
  if (page > std::max<int64_t>(page_count, 1)) return BadRequest("page out of range");
  json page_items = json::array();
  for (int64_t i = (page - 1) * page_size; i < std::min(filtered, page * page_size); ++i)
    page_items.push_back(std::move(items[static_cast<size_t>(i)]));
  return Json({{"filtered_count", filtered},
               {"item_count", page_items.size()},
               {"items", std::move(page_items)},
               {"page", page},
               {"page_count", page_count},
               {"page_size", page_size},
               {"total_count", total}});
}

Reply ListOrOne(const Call& call, json items, size_t name_arg, const std::string& kind) {
  if (call.args.size() <= name_arg) return ListReply(call, std::move(items));
  std::string what = kind + " '" + call.arg(name_arg) + "'";
  if (name_arg == 1) what += " in vhost '" + call.arg(0) + "'";
  return OneOf(items, {{"name", call.arg(name_arg)}}, what);
}

Reply OneOf(const json& items, const json& match, const std::string& what) {
  for (const auto& item : items) {
    bool all = true;
    for (const auto& [k, v] : match.items()) all = all && item.contains(k) && item[k] == v;
    if (all) return Json(item);
  }
  return NotFound(what + " not found");
}

}  // namespace warren::mgmt
