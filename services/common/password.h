// Password hashes in RabbitMQ's default format (rabbit_password_hashing_sha256):
// base64(salt[4] ++ sha256(salt[4] ++ password)). The same strings appear in
// RabbitMQ definitions files, so they move between the two brokers as they are.
#pragma once

#include <string>
#include <string_view>

namespace warren {

std::string HashPassword(std::string_view password);
bool CheckPassword(std::string_view password, std::string_view hash);
// True when `hash` decodes to 4 salt bytes + a 32-byte digest.
bool IsValidPasswordHash(std::string_view hash);

}  // namespace warren
