// The TLS settings' checks and the PEM files read back from disk: every
// combination that cannot work and every damaged file is one clear error.
// (Handshakes are tested against real clients: tests/tls.)
#include "common/tls.h"

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "common/config.h"
#include "temp_dir.h"

namespace warren::tls {
namespace {

std::string Write(const testkit::TempDir& dir, const std::string& name, const std::string& text) {
  std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string ValidateError(const Settings& s) {
  try {
    Validate(s);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(TlsSettingsTest, CombinationsThatCannotWorkAreRefused) {
  Settings s;
  EXPECT_EQ(ValidateError(s), "");
  s.cert_file = "c.pem";
  EXPECT_EQ(ValidateError(s), "tls: cert_file is set without key_file");
  s = {};
  s.key_file = "k.pem";
  EXPECT_EQ(ValidateError(s), "tls: key_file is set without cert_file");
  s = {};
  s.verify = Verify::kPeer;
  EXPECT_NE(ValidateError(s).find("needs ca_file"), std::string::npos);
  s.ca_file = "ca.pem";
  EXPECT_EQ(ValidateError(s), "");
  s.verify = Verify::kNone;
  s.fail_if_no_peer_cert = true;
  EXPECT_EQ(ValidateError(s), "tls: fail_if_no_peer_cert needs verify = \"peer\"");
}

TEST(TlsSettingsTest, VerifyTakesRabbitMqsNamesToo) {
  EXPECT_EQ(ParseVerify("peer", "v"), Verify::kPeer);
  EXPECT_EQ(ParseVerify("verify_peer", "v"), Verify::kPeer);
  EXPECT_EQ(ParseVerify("verify_none", "v"), Verify::kNone);
  EXPECT_THROW(ParseVerify("strict", "v"), ConfigError);
}

TEST(TlsPemTest, DamagedFilesAreNamedNotParsedBlindly) {
  testkit::TempDir dir("tls");
  Settings s;
  s.cert_file = (dir / "missing.pem").string();
  s.key_file = Write(dir, "k.pem", "");
  Result<Pem> r = LoadPem(s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().text.find("cert_file " + s.cert_file + ": cannot be read"),
            std::string::npos)
      << r.error().text;

  s.cert_file = Write(dir, "garbage.pem", "-----BEGIN CERTIFICATE-----\n\xff\xfe\n");
  r = LoadPem(s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().text.find("holds no PEM certificate"), std::string::npos)
      << r.error().text;

  s.cert_file = Write(dir, "huge.pem", std::string(kMaxPemFile + 1, 'A'));
  r = LoadPem(s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().text.find("is larger than"), std::string::npos) << r.error().text;

  Result<Context> ctx = ServerContext(s);
  EXPECT_FALSE(ctx.ok());
}

TEST(TlsPemTest, AClientWithNoFilesUsesTheSystemsCas) {
  Result<Context> ctx = ClientContext(Settings{});
  ASSERT_TRUE(ctx.ok()) << ctx.error().text;
  EXPECT_NE(ctx.value(), nullptr);
}

}  // namespace
}  // namespace warren::tls
