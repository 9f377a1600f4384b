#include "common/basic_auth.h"

#include <openssl/evp.h>

namespace warren {

std::string BasicAuthHeader(const std::string& user, const std::string& password) {
  std::string raw = user + ":" + password;
  std::string b64(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  b64.resize(static_cast<size_t>(n));
  return "Basic " + b64;
}

bool ParseBasicAuth(std::string_view header, std::string& user, std::string& password) {
  constexpr std::string_view kBasic = "Basic ";
  if (header.substr(0, kBasic.size()) != kBasic) return false;
  std::string_view b64 = header.substr(kBasic.size());
  if (b64.empty() || b64.size() % 4 != 0 || b64.size() > 4096) return false;
  std::string raw(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return false;
  // EVP_DecodeBlock counts the padding as decoded zero bytes.
  size_t len = static_cast<size_t>(n);
  if (b64.back() == '=') --len;
  if (b64[b64.size() - 2] == '=') --len;
  raw.resize(len);
  size_t colon = raw.find(':');
  if (colon == std::string::npos) return false;
  user = raw.substr(0, colon);
  password = raw.substr(colon + 1);
  return true;
}

}  // namespace warren
