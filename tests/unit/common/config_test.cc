// Loading NodeConfig from TOML text, and HOST:PORT parsing.
#include "common/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace warren {
namespace {

using ::testing::HasSubstr;

// The ConfigError text for loading `toml` into a default config ("" if none).
std::string LoadError(const std::string& toml) {
  NodeConfig c;
  try {
    LoadConfigText(toml, "test.toml", c);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigTest, EveryKeyIsLoaded) {
  NodeConfig c;
  LoadConfigText(R"(
node_name = "warren@box"
amqp_listen = "127.0.0.1:5673"
grpc_listen = "[::1]:25673"
data_dir = "/srv/warren"
log_level = "debug"
default_vhost = "main"
default_user = "admin"
default_pass = "pw"
loopback_users = ["admin", "ops"]

[amqp]
channel_max = 128
frame_max = 65536
heartbeat = 30
max_message_size = 1048576

[[vhosts]]
name = "staging"

[[vhosts]]
name = "prod"

[[users]]
name = "alice"
password = "secret"
tags = ["administrator", "monitoring"]

[[users]]
name = "bob"
password_hash = "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR"

[[permissions]]
user = "alice"
vhost = "prod"
configure = "^alice-"
write = "^x$"
read = ""

[[permissions]]
user = "bob"
)",
                 "test.toml", c);
  EXPECT_EQ(c.node_name, "warren@box");
  EXPECT_EQ(c.amqp_listen, "127.0.0.1:5673");
  EXPECT_EQ(c.grpc_listen, "[::1]:25673");
  EXPECT_EQ(c.data_dir, "/srv/warren");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.default_vhost, "main");
  EXPECT_EQ(c.default_user, "admin");
  EXPECT_EQ(c.default_pass, "pw");
  EXPECT_EQ(c.loopback_users, (std::vector<std::string>{"admin", "ops"}));
  EXPECT_EQ(c.channel_max, 128);
  EXPECT_EQ(c.frame_max, 65536u);
  EXPECT_EQ(c.heartbeat, 30);
  EXPECT_EQ(c.max_message_size, 1048576u);
  EXPECT_EQ(c.vhosts, (std::vector<std::string>{"staging", "prod"}));
  ASSERT_EQ(c.users.size(), 2u);
  EXPECT_EQ(c.users[0].name, "alice");
  EXPECT_EQ(c.users[0].password, "secret");
  EXPECT_EQ(c.users[0].password_hash, "");
  EXPECT_EQ(c.users[0].tags, (std::vector<std::string>{"administrator", "monitoring"}));
  EXPECT_EQ(c.users[1].name, "bob");
  EXPECT_EQ(c.users[1].password, "");
  EXPECT_EQ(c.users[1].password_hash, "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR");
  ASSERT_EQ(c.permissions.size(), 2u);
  EXPECT_EQ(c.permissions[0].user, "alice");
  EXPECT_EQ(c.permissions[0].vhost, "prod");
  EXPECT_EQ(c.permissions[0].configure, "^alice-");
  EXPECT_EQ(c.permissions[0].write, "^x$");
  EXPECT_EQ(c.permissions[0].read, "");
  EXPECT_EQ(c.permissions[1].user, "bob");
  EXPECT_EQ(c.permissions[1].vhost, "/") << "defaults: vhost / and .* for all three";
  EXPECT_EQ(c.permissions[1].configure, ".*");
  EXPECT_EQ(c.permissions[1].write, ".*");
  EXPECT_EQ(c.permissions[1].read, ".*");
}

TEST(ConfigTest, KeysNotInTheFileKeepTheirValues) {
  NodeConfig c;
  c.heartbeat = 7;
  LoadConfigText("log_level = \"warning\"\n", "test.toml", c);
  EXPECT_EQ(c.log_level, "warning");
  EXPECT_EQ(c.heartbeat, 7);
  EXPECT_EQ(c.amqp_listen, "0.0.0.0:5672");
  EXPECT_EQ(c.default_user, "guest");
  EXPECT_EQ(c.loopback_users, (std::vector<std::string>{"guest"}));
}

TEST(ConfigTest, EmptyTextIsAValidConfig) { EXPECT_EQ(LoadError(""), ""); }

TEST(ConfigTest, UnknownKeyErrorNamesTheKey) {
  EXPECT_EQ(LoadError("colour = \"blue\"\n"), "test.toml: colour: unknown key");
  EXPECT_EQ(LoadError("[amqp]\nheartbeats = 5\n"), "test.toml: amqp.heartbeats: unknown key");
  EXPECT_EQ(LoadError("[[users]]\nname = \"a\"\npassword = \"p\"\npasword = \"q\"\n"),
            "test.toml: users.pasword: unknown key");
  EXPECT_EQ(LoadError("[[permissions]]\nuser = \"a\"\nconfig = \".*\"\n"),
            "test.toml: permissions.config: unknown key");
  EXPECT_EQ(LoadError("[[vhosts]]\nname = \"v\"\ndescription = \"d\"\n"),
            "test.toml: vhosts.description: unknown key");
}

TEST(ConfigTest, WrongTypesNameTheKey) {
  EXPECT_THAT(LoadError("node_name = 5\n"), HasSubstr("node_name: expected a string"));
  EXPECT_THAT(LoadError("loopback_users = \"guest\"\n"), HasSubstr("loopback_users"));
  EXPECT_THAT(LoadError("loopback_users = [1]\n"), HasSubstr("loopback_users"));
  EXPECT_THAT(LoadError("[amqp]\nframe_max = \"big\"\n"),
              HasSubstr("amqp.frame_max: expected an integer"));
  EXPECT_THAT(LoadError("amqp = 5\n"), HasSubstr("amqp: expected a table"));
  EXPECT_THAT(LoadError("users = 5\n"), HasSubstr("users"));
  EXPECT_THAT(LoadError("[[users]]\nname = \"a\"\npassword = \"p\"\ntags = \"admin\"\n"),
              HasSubstr("users.tags"));
  EXPECT_THAT(LoadError("[[permissions]]\nuser = \"a\"\nread = 1\n"),
              HasSubstr("permissions.read: expected a string"));
}

TEST(ConfigTest, OutOfRangeValuesNameTheKeyAndTheRange) {
  EXPECT_EQ(LoadError("[amqp]\nchannel_max = 0\n"),
            "test.toml: amqp.channel_max: must be between 1 and 65535");
  EXPECT_THAT(LoadError("[amqp]\nchannel_max = 65536\n"), HasSubstr("amqp.channel_max"));
  EXPECT_THAT(LoadError("[amqp]\nframe_max = 4095\n"), HasSubstr("amqp.frame_max"));
  EXPECT_THAT(LoadError("[amqp]\nheartbeat = -1\n"), HasSubstr("amqp.heartbeat"));
  EXPECT_THAT(LoadError("[amqp]\nheartbeat = 65536\n"), HasSubstr("amqp.heartbeat"));
  EXPECT_THAT(LoadError("[amqp]\nmax_message_size = 0\n"), HasSubstr("amqp.max_message_size"));
  EXPECT_THAT(LoadError("[amqp]\nmax_message_size = 536870913\n"),
              HasSubstr("amqp.max_message_size"));
  EXPECT_EQ(LoadError("[amqp]\nframe_max = 4096\nchannel_max = 65535\nheartbeat = 0\n"), "");
}

TEST(ConfigTest, StoreAndAlarmKeysAreLoaded) {
  NodeConfig c;
  LoadConfigText(
      "[store]\nfsync = \"never\"\nsegment_size = \"1MiB\"\n"
      "[alarms]\nmemory_high_watermark = 0.6\nmemory_limit = \"256MiB\"\n"
      "paging_ratio = 0.75\ndisk_free_limit = 1000000\n",
      "test.toml", c);
  EXPECT_FALSE(c.fsync);
  EXPECT_EQ(c.segment_size, 1u << 20);
  EXPECT_DOUBLE_EQ(c.memory_high_watermark, 0.6);
  EXPECT_EQ(c.memory_limit, 256u << 20);
  EXPECT_DOUBLE_EQ(c.paging_ratio, 0.75);
  EXPECT_EQ(c.disk_free_limit, 1000000u);
}

TEST(ConfigTest, BadStoreAndAlarmValuesNameTheKey) {
  EXPECT_THAT(LoadError("[store]\nfsync = \"sometimes\"\n"), HasSubstr("store.fsync"));
  EXPECT_THAT(LoadError("[store]\nsegment_size = \"1KiB\"\n"), HasSubstr("store.segment_size"));
  EXPECT_THAT(LoadError("[store]\ncompression = true\n"), HasSubstr("store.compression: unknown key"));
  EXPECT_THAT(LoadError("[alarms]\nmemory_limit = \"lots\"\n"), HasSubstr("alarms.memory_limit"));
  EXPECT_THAT(LoadError("[alarms]\nmemory_high_watermark = 1.5\n"),
              HasSubstr("alarms.memory_high_watermark"));
  EXPECT_THAT(LoadError("[alarms]\ndisk_free_limit = -1\n"), HasSubstr("alarms.disk_free_limit"));
}

TEST(ConfigTest, ClusterSecretFileComesFromTheFileThenTheEnvironment) {
  NodeConfig c;
  LoadConfigText("[cluster]\nsecret_file = \"/etc/warren/secret\"\n", "test.toml", c);
  EXPECT_EQ(c.cluster_secret_file, "/etc/warren/secret");
  setenv("WARREN_CLUSTER_SECRET_FILE", "/run/secrets/warren", 1);
  ApplyEnvironment(c);
  unsetenv("WARREN_CLUSTER_SECRET_FILE");
  EXPECT_EQ(c.cluster_secret_file, "/run/secrets/warren");
  EXPECT_THAT(LoadError("[cluster]\ncookie = \"x\"\n"), HasSubstr("cluster.cookie: unknown key"));
  EXPECT_THAT(LoadError("[cluster]\nsecret_file = 1\n"), HasSubstr("cluster.secret_file"));
}

TEST(ConfigTest, TheFirstUserComesFromTheEnvironmentAsInRabbitMQsImage) {
  NodeConfig c;
  LoadConfigText("default_user = \"guest\"\ndefault_pass = \"guest\"\n", "test.toml", c);
  setenv("WARREN_DEFAULT_USER", "ops", 1);
  setenv("WARREN_DEFAULT_PASS", "s3cret", 1);
  ApplyEnvironment(c);
  unsetenv("WARREN_DEFAULT_USER");
  unsetenv("WARREN_DEFAULT_PASS");
  EXPECT_EQ(c.default_user, "ops");
  EXPECT_EQ(c.default_pass, "s3cret");
}

TEST(ParseSizeTest, ReadsRabbitMQStyleUnits) {
  EXPECT_EQ(ParseSize("1048576"), 1048576u);
  EXPECT_EQ(ParseSize("50MB"), 50000000u);
  EXPECT_EQ(ParseSize("256MiB"), 256u << 20);
  EXPECT_EQ(ParseSize("2 GiB"), 2ull << 30);
  EXPECT_EQ(ParseSize("1kB"), 1000u);
  EXPECT_EQ(ParseSize(""), std::nullopt);
  EXPECT_EQ(ParseSize("MiB"), std::nullopt);
  EXPECT_EQ(ParseSize("12 parsecs"), std::nullopt);
  EXPECT_EQ(ParseSize("99999999999999999999"), std::nullopt);
}

TEST(ConfigTest, LogLevelMustBeKnown) {
  EXPECT_THAT(LoadError("log_level = \"verbose\"\n"), HasSubstr("log_level"));
  for (const char* level : {"trace", "debug", "info", "warning", "error"})
    EXPECT_EQ(LoadError(std::string("log_level = \"") + level + "\"\n"), "") << level;
}

TEST(ConfigTest, UserNeedsExactlyOneOfPasswordAndPasswordHash) {
  EXPECT_EQ(LoadError("[[users]]\nname = \"alice\"\n"),
            "test.toml: users.alice: needs exactly one of password, password_hash");
  EXPECT_EQ(LoadError("[[users]]\nname = \"alice\"\npassword = \"p\"\npassword_hash = \"h\"\n"),
            "test.toml: users.alice: needs exactly one of password, password_hash");
  EXPECT_EQ(LoadError("[[users]]\nname = \"alice\"\npassword_hash = \"h\"\n"), "");
}

TEST(ConfigTest, UsersVhostsAndPermissionsNeedTheirNames) {
  EXPECT_THAT(LoadError("[[users]]\npassword = \"p\"\n"), HasSubstr("users.name: missing"));
  EXPECT_THAT(LoadError("[[vhosts]]\n"), HasSubstr("vhosts.name: missing"));
  EXPECT_THAT(LoadError("[[permissions]]\nvhost = \"/\"\n"), HasSubstr("permissions.user: missing"));
}

TEST(ConfigTest, SyntaxErrorNamesOriginAndLine) {
  std::string e = LoadError("log_level = \"info\"\nbroken = = 1\n");
  EXPECT_THAT(e, HasSubstr("test.toml:2:"));
}

TEST(ConfigTest, LoadConfigFileReportsAMissingFile) {
  NodeConfig c;
  EXPECT_THROW(LoadConfigFile("/nonexistent/warren.toml", c), ConfigError);
}

TEST(ParseHostPortTest, AcceptsHostPortForms) {
  HostPort a = ParseHostPort("127.0.0.1:5672", "amqp_listen");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 5672);
  HostPort b = ParseHostPort("[::1]:25672", "grpc_listen");
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 25672);
  HostPort c = ParseHostPort(":0", "amqp_listen");
  EXPECT_EQ(c.host, "0.0.0.0") << "an empty host means every interface";
  EXPECT_EQ(c.port, 0);
  HostPort d = ParseHostPort("broker.local:65535", "amqp_listen");
  EXPECT_EQ(d.host, "broker.local");
  EXPECT_EQ(d.port, 65535);
}

TEST(ParseHostPortTest, RejectsBadValuesNamingTheSetting) {
  for (const char* bad : {"localhost", "localhost:", "host:http", "host:65536", "host:-1",
                          "host:12ab", ""}) {
    try {
      ParseHostPort(bad, "amqp_listen");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const ConfigError& e) {
      EXPECT_THAT(e.what(), HasSubstr("amqp_listen")) << bad;
    }
  }
}

}  // namespace
}  // namespace warren
