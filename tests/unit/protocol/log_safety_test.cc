// What clients send reaches the node's log only escaped (warren::LogSafe): a
// user name, vhost or queue name with a newline cannot forge a log line, and
// one with terminal escape codes cannot drive the operator's terminal.
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "frame_harness.h"
#include "log_capture.h"

namespace warren::protocol_test {
namespace {

// A hostile name: a forged log line after a newline, and an ANSI escape.
const std::string kHostile = "mallory\n2030-01-01 00:00:00.000 [fake] admin logged in\x1b[31m";

class LogSafetyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = std::make_unique<testkit::LogCapture>();
    node_ = std::make_unique<TestNode>();
  }
  void TearDown() override {
    node_.reset();
    log_.reset();
  }
  std::vector<std::string> Lines() {
    std::vector<std::string> lines;
    std::istringstream in(log_->text());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  // Every line of the log is one of the node's records (a forged one would
  // start with the name's fake timestamp), and none has a raw escape byte.
  void ExpectNoForgedLine() {
    static const std::regex kRecord(
        R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[(trace|debug|info|warning|error|critical)\] .*)");
    std::vector<std::string> lines = Lines();
    EXPECT_FALSE(lines.empty());
    for (const std::string& line : lines) {
      EXPECT_TRUE(std::regex_match(line, kRecord)) << "not one of the node's records: " << line;
      EXPECT_FALSE(line.starts_with("2030-01-01")) << "a forged line: " << line;
      EXPECT_EQ(line.find('\x1b'), std::string::npos) << "a raw escape byte in: " << line;
    }
  }
  // The log has a line with `what` in it.
  ::testing::AssertionResult Logged(const std::string& what) {
    std::string text = log_->text();
    if (text.find(what) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "no '" << what << "' in the log:\n" << text;
  }

  std::unique_ptr<testkit::LogCapture> log_;
  std::unique_ptr<TestNode> node_;
};

const char kEscaped[] = "mallory\\n2030-01-01 00:00:00.000 [fake] admin logged in\\x1b[31m";

TEST_F(LogSafetyTest, RefusedUserNameIsLoggedEscaped) {
  RawClient c(node_->port());
  c.SendHeader();
  ASSERT_TRUE(c.ExpectStart());
  c.SendStartOk("PLAIN", RawClient::Plain(kHostile, "wrong"));
  // The refusal is sent after the line is logged.
  ASSERT_TRUE(c.ExpectConnectionClose(403));
  EXPECT_TRUE(Logged(std::string("login refused for user '") + kEscaped + "'"));
  ExpectNoForgedLine();
}

TEST_F(LogSafetyTest, RefusedAmqplainUserNameIsLoggedEscaped) {
  RawClient c(node_->port());
  c.SendHeader();
  ASSERT_TRUE(c.ExpectStart());
  c.SendStartOk("AMQPLAIN", RawClient::Amqplain(kHostile, "wrong"));
  ASSERT_TRUE(c.ExpectConnectionClose(403));
  EXPECT_TRUE(Logged(kEscaped));
  ExpectNoForgedLine();
}

TEST_F(LogSafetyTest, UnknownVhostIsLoggedEscaped) {
  RawClient c(node_->port());
  c.SendHeader();
  ASSERT_TRUE(c.ExpectStart());
  c.SendStartOk("PLAIN", RawClient::Plain("guest", "guest"));
  ASSERT_TRUE(c.ExpectTune());
  c.SendTuneOk(c.tune().channel_max, c.tune().frame_max, 0);
  c.SendOpen(kHostile);
  ASSERT_TRUE(c.ExpectConnectionClose(530));
  EXPECT_TRUE(Logged(std::string("vhost ") + kEscaped + " not found"));
  ExpectNoForgedLine();
}

TEST_F(LogSafetyTest, UnknownMechanismIsLoggedEscaped) {
  RawClient c(node_->port());
  c.SendHeader();
  ASSERT_TRUE(c.ExpectStart());
  c.SendStartOk("X\n[fake] \x1b[2J", RawClient::Plain("guest", "guest"));
  ASSERT_TRUE(c.ExpectConnectionClose(503));
  EXPECT_TRUE(Logged("unknown authentication mechanism 'X\\n[fake] \\x1b[2J'"));
  ExpectNoForgedLine();
}

// Channel errors name the client's queue (logged at debug level).
TEST_F(LogSafetyTest, QueueNameInAChannelErrorIsLoggedEscaped) {
  RawClient c(node_->port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1));
  amqp::QueueDeclare d;
  d.queue = kHostile;
  d.passive = true;
  c.SendMethod(1, d);
  ASSERT_TRUE(c.ExpectChannelClose(1, 404));
  EXPECT_TRUE(Logged(std::string("no queue '") + kEscaped + "'"));
  ExpectNoForgedLine();
}

}  // namespace
}  // namespace warren::protocol_test
