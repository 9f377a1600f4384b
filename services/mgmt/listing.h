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

// One object from a listing by its fields, or 404 naming `what`.
Reply OneOf(const nlohmann::json& items, const nlohmann::json& match, const std::string& what);

}  // namespace warren::mgmt
