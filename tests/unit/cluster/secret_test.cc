// The cluster secret's file (made when absent, refused when others can read
// it or it holds no usable secret) and the proofs made with it.
#include "broker/cluster/secret.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "common/config.h"
#include "common/text.h"
#include "temp_dir.h"

namespace warren::cluster {
namespace {

namespace fs = std::filesystem;

class SecretFileTest : public ::testing::Test {
 protected:
  std::string Place(const std::string& text, mode_t mode) {
    std::string path = (dir_ / "secret").string();
    std::ofstream(path) << text;
    chmod(path.c_str(), mode);
    return path;
  }
  // The ConfigError's text when loading `path` fails; "" when it loads.
  static std::string Refusal(const std::string& path) {
    bool created = false;
    try {
      Secret::LoadOrCreate(path, created);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }

  testkit::TempDir root_{"secret"};
  const fs::path& dir_ = root_.path();
};

TEST_F(SecretFileTest, AnAbsentFileIsMadeOwnerOnlyAndReadTheSameNextTime) {
  std::string path = (dir_ / "sub" / "cluster-secret").string();
  bool created = false;
  Secret first = Secret::LoadOrCreate(path, created);
  EXPECT_TRUE(created);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Secret again = Secret::LoadOrCreate(path, created);
  EXPECT_FALSE(created);
  EXPECT_TRUE(again.Verify("t", first.Prove("t")));
  EXPECT_FALSE(fs::exists(path + ".tmp")) << "no temporary file is left";
}

TEST_F(SecretFileTest, TwoNewFilesHoldDifferentSecrets) {
  bool created = false;
  Secret a = Secret::LoadOrCreate((dir_ / "a").string(), created);
  Secret b = Secret::LoadOrCreate((dir_ / "b").string(), created);
  EXPECT_FALSE(b.Verify("t", a.Prove("t")));
}

TEST_F(SecretFileTest, AFileOthersCanReadIsRefusedAsRabbitMQRefusesSuchACookie) {
  std::string path = Place("SECRET\n", 0644);
  EXPECT_EQ(Refusal(path),
            "cluster secret file " + path + ": must be accessible by its owner only (chmod 600)");
  chmod(path.c_str(), 0400);
  EXPECT_EQ(Refusal(path), "");
}

TEST_F(SecretFileTest, EmptyLongOrNonPrintableSecretsAreRefusedNamingTheFile) {
  EXPECT_EQ(Refusal(Place("\n", 0600)), "cluster secret file " + (dir_ / "secret").string() +
                                            ": is empty");
  EXPECT_NE(Refusal(Place(std::string(256, 'A'), 0600)).find("more than 255"),
            std::string::npos);
  EXPECT_NE(Refusal(Place("two words", 0600)).find("printable ASCII"), std::string::npos);
  EXPECT_NE(Refusal(Place("caf\xc3\xa9", 0600)).find("printable ASCII"), std::string::npos);
  EXPECT_EQ(Refusal(Place(std::string(255, 'A') + "\r\n", 0600)), "");
}

TEST_F(SecretFileTest, ADirectoryOrASymlinkIsNotASecretFile) {
  fs::create_directory(dir_ / "d");
  EXPECT_NE(Refusal((dir_ / "d").string()).find("is not a regular file"), std::string::npos);
  std::string target = Place("SECRET", 0600);
  fs::create_symlink(target, dir_ / "link");
  EXPECT_NE(Refusal((dir_ / "link").string()).find("cannot be read"), std::string::npos);
}

TEST(SecretProofTest, AProofVerifiesOnlyForTheSameSecretAndTranscript) {
  Secret s = Secret::FromText("COOKIE");
  std::string proof = s.Prove("challenge-1");
  EXPECT_EQ(proof.size(), kProofSize);
  EXPECT_TRUE(s.Verify("challenge-1", proof));
  EXPECT_FALSE(s.Verify("challenge-2", proof));
  EXPECT_FALSE(Secret::FromText("COOKIE2").Verify("challenge-1", proof));
  EXPECT_FALSE(s.Verify("challenge-1", proof.substr(0, kProofSize - 1)));
  EXPECT_FALSE(s.Verify("challenge-1", ""));
  std::string flipped = proof;
  flipped[0] ^= 1;
  EXPECT_FALSE(s.Verify("challenge-1", flipped));
}

TEST(SecretProofTest, TheProofIsRfc4231HmacSha256) {
  // RFC 4231, test case 2: key "Jefe".
  std::string proof = Secret::FromText("Jefe").Prove("what do ya want for nothing?");
  EXPECT_EQ(ToHex(proof), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace warren::cluster
