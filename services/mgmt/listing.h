// What every list endpoint does with its items, as RabbitMQ's management
// plugin does: `name` filters by the name field (a case-insensitive
// substring, or a regular expression with use_regex=true), `sort` (a field,
// dotted for nested ones) and `sort_reverse` order them, `columns` keeps
// only the named fields, and `page`/`page_size` (1..500, default 100) answer
// with the paged object {filtered_count, item_count, items, page,
// page_count, page_size, total_count} instead of the plain array.
#pragma once

#include <nlohmann/json.hpp>

#include "mgmt/reply.h"
#include "mgmt/router.h"

namespace warren::mgmt {

Reply ListReply(const Call& call, nlohmann::json items);

// The listing when the path names no object (fewer than name_arg + 1
// arguments), else the item whose name is args[name_arg], or 404 naming
// the `kind` ("queue") and, for name_arg 1, the vhost args[0].
Reply ListOrOne(const Call& call, nlohmann::json items, size_t name_arg, const std::string& kind);

// One object from a listing by its fields, or 404 naming `what`.
Reply OneOf(const nlohmann::json& items, const nlohmann::json& match, const std::string& what);

}  // namespace warren::mgmt
