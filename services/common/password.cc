#include "common/password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

namespace warren {

namespace {

constexpr size_t kSaltSize = 4;
constexpr size_t kHashedSize = kSaltSize + SHA256_DIGEST_LENGTH;

std::string Base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data,
                            static_cast<int>(n));
  out.resize(len);
  return out;
}

bool Unbase64(std::string_view in, std::string& out) {
  if (in.empty() || in.size() % 4 != 0) return false;
  out.assign(3 * in.size() / 4, '\0');
  int len = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()),
                            static_cast<int>(in.size()));
  if (len < 0) return false;
  size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=') ++pad;
  out.resize(len - pad);
  return true;
}

std::string Salted(const unsigned char* salt, std::string_view password) {
  unsigned char buf[kHashedSize];
  std::string input(reinterpret_cast<const char*>(salt), kSaltSize);
  input.append(password);
  std::copy(salt, salt + kSaltSize, buf);
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), buf + kSaltSize);
  return Base64(buf, sizeof buf);
}

}  // namespace

std::string HashPassword(std::string_view password) {
  unsigned char salt[kSaltSize];
  RAND_bytes(salt, sizeof salt);
  return Salted(salt, password);
}

bool IsValidPasswordHash(std::string_view hash) {
  std::string raw;
  return Unbase64(hash, raw) && raw.size() == kHashedSize;
}

bool CheckPassword(std::string_view password, std::string_view hash) {
  std::string raw;
  if (!Unbase64(hash, raw) || raw.size() != kHashedSize) return false;
  std::string expected = Salted(reinterpret_cast<const unsigned char*>(raw.data()), password);
  return expected.size() == hash.size() &&
         CRYPTO_memcmp(expected.data(), hash.data(), hash.size()) == 0;
}

}  // namespace warren
