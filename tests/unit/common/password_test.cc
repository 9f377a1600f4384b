// Password hashes in RabbitMQ's rabbit_password_hashing_sha256 format.
#include "common/password.h"

#include <gtest/gtest.h>

#include <string>

namespace warren {
namespace {

// Computed independently with Python's hashlib and base64:
//   salt = bytes([0x90, 0x8D, 0xC6, 0x0A])
//   base64(salt + sha256(salt + b"test12"))
// (the same vector RabbitMQ's "Credentials and Passwords" guide works through).
constexpr const char* kTest12Hash = "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR";
constexpr const char* kEmptyHash = "kI3GCrTX798KLXnBt/mFM97t8TbDJzaewEU/2YfqeB4xLGFr";

TEST(PasswordTest, HashThenCheckRoundTrips) {
  for (const char* pw : {"guest", "", "pässwörd", "a much longer password with spaces"}) {
    std::string h = HashPassword(pw);
    EXPECT_TRUE(IsValidPasswordHash(h)) << h;
    EXPECT_EQ(h.size(), 48u) << "base64 of 4 + 32 bytes";
    EXPECT_TRUE(CheckPassword(pw, h)) << pw;
  }
}

TEST(PasswordTest, WrongPasswordFails) {
  std::string h = HashPassword("guest");
  EXPECT_FALSE(CheckPassword("Guest", h));
  EXPECT_FALSE(CheckPassword("guest ", h));
  EXPECT_FALSE(CheckPassword("", h));
}

TEST(PasswordTest, EachHashGetsAFreshSalt) {
  std::string a = HashPassword("same");
  std::string b = HashPassword("same");
  EXPECT_NE(a, b);
  EXPECT_TRUE(CheckPassword("same", a));
  EXPECT_TRUE(CheckPassword("same", b));
}

TEST(PasswordTest, GoldenVectorFromAFixedSalt) {
  EXPECT_TRUE(IsValidPasswordHash(kTest12Hash));
  EXPECT_TRUE(CheckPassword("test12", kTest12Hash));
  EXPECT_FALSE(CheckPassword("test13", kTest12Hash));
  EXPECT_TRUE(CheckPassword("", kEmptyHash));
  EXPECT_FALSE(CheckPassword("test12", kEmptyHash));
}

TEST(PasswordTest, MalformedHashesAreInvalidAndNeverMatch) {
  // 33 bytes (one short of salt + digest), then plain garbage.
  const std::string short_hash = "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV";
  for (const std::string& bad :
       {std::string(""), std::string("abc"), std::string("not base64 at all!!"), short_hash,
        std::string(kTest12Hash) + "AAAA"}) {
    EXPECT_FALSE(IsValidPasswordHash(bad)) << bad;
    EXPECT_FALSE(CheckPassword("test12", bad)) << bad;
  }
}

}  // namespace
}  // namespace warren
