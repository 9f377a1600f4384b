// The query string of a request target, as warren-mgmt and warren-exporter
// read it: pairs in order, "+" as space and percent-decoded; a "%" not
// followed by two hex digits is kept as it is.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace warren::http {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

QueryParams ParseQuery(const std::string& target);

// Percent-decodes `s`; `plus_is_space`: a query's "+" is a space (a path's is not).
std::string PercentDecode(std::string_view s, bool plus_is_space);

}  // namespace warren::http
