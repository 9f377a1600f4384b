// HTTP Basic credentials ("Basic base64(user:password)"), as the Admin gRPC
// service and its clients (warrenctl, warren-mgmt, warren-exporter) carry
// them in the "authorization" metadata.
#pragma once

#include <string>
#include <string_view>

namespace warren {

std::string BasicAuthHeader(const std::string& user, const std::string& password);
// False unless `header` is "Basic " and valid base64 of "user:password".
bool ParseBasicAuth(std::string_view header, std::string& user, std::string& password);

}  // namespace warren
