// What every list endpoint does with its items, as RabbitMQ's management
// plugin does: `name` filters by the name field (a case-insensitive
// substring, or a regular expression with use_regex=true), `sort` (a field,
// dotted for nested ones) and `sort_reverse` order them, and
// `page`/`page_size` (1..500, default 100) answer with the paged object
// {filtered_count, item_count, items, page, page_count, page_size,
// total_count} instead of the plain array. Then, for every route's JSON
// answer (Shape): `columns` keeps only the named fields (dotted for nested
// ones) of each item, or of the one object; `disable_stats=true` leaves out
// message_stats and the rates (*_details).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "mgmt/reply.h"
#include "mgmt/router.h"

namespace warren::mgmt {

Reply ListReply(const Call& call, nlohmann::json items);

// A 200 JSON reply with `columns` and `disable_stats` applied (the reply
// as it is when the query has neither).
Reply Shape(const Call& call, Reply reply);

// The listing when the path names no object (fewer than name_arg + 1
// arguments), else the item whose name is args[name_arg], or 404 naming
// the `kind` ("queue") and, for name_arg 1, the vhost args[0].
Reply ListOrOne(const Call& call, nlohmann::json items, size_t name_arg, const std::string& kind);

// 404 unless the vhost (the user) `name` exists; the listing of either
// tells, so the caller needs the tags that list them.
std::optional<Reply> RequireVHost(Call& call, const std::string& name);
std::optional<Reply> RequireUser(Call& call, const std::string& name);

// The consumers the node lists in `scope` as the API shows them, each with
// its channel's user and node (routes_connections.cc).
std::optional<Reply> ConsumerObjects(Call& call, const v1::ListRequest& scope,
                                     nlohmann::json& out);

// One object from a listing by its fields, or 404 naming `what`.
Reply OneOf(const nlohmann::json& items, const nlohmann::json& match, const std::string& what);

}  // namespace warren::mgmt
