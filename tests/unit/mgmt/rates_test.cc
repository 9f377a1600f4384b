// The arithmetic of warren-mgmt's rates (services/mgmt/rates.h): the ring
// of samples, X_details without and with a range, and the range parameters.
#include "mgmt/rates.h"

#include <gtest/gtest.h>

namespace warren::mgmt {
namespace {

using nlohmann::json;

std::vector<int64_t> Row(int64_t a, int64_t b = 0) { return {a, b}; }

TEST(SampleRing, KeepsTheNewestUpToItsCapacity) {
  SampleRing ring(2, 3);
  for (int64_t i = 1; i <= 5; ++i) ring.Add(i * 1000, Row(i * 10, i));
  ASSERT_EQ(ring.size(), 3u);
  EXPECT_EQ(ring.Time(0), 3000);  // the oldest kept
  EXPECT_EQ(ring.Value(0, 0), 30);
  EXPECT_EQ(ring.Time(2), 5000);
  EXPECT_EQ(ring.Value(2, 0), 50);
  EXPECT_EQ(ring.Value(2, 1), 5);
}

TEST(SampleRing, AClockSteppingBackRestartsIt) {
  SampleRing ring(1, 4);
  ring.Add(5000, Row(1));
  ring.Add(6000, Row(2));
  ring.Add(6000, Row(3));  // not after the newest
  ASSERT_EQ(ring.size(), 1u);
  EXPECT_EQ(ring.Value(0, 0), 3);
}

TEST(Details, WithoutARangeTheRateIsOverTheLastTwoSamples) {
  SampleRing ring(1, 10);
  ring.Add(10'000, Row(100));
  ring.Add(15'000, Row(110));
  ring.Add(20'000, Row(160));  // 50 in 5 s
  json d = Details(ring, 0, 21'000, 5000, std::nullopt);
  EXPECT_EQ(d, json({{"rate", 10.0}}));
}

TEST(Details, ACounterGoingDownIsANegativeRate) {
  SampleRing ring(1, 10);
  ring.Add(10'000, Row(8));
  ring.Add(12'000, Row(4));
  EXPECT_DOUBLE_EQ(Details(ring, 0, 12'500, 2000, std::nullopt)["rate"].get<double>(), -2.0);
}

TEST(Details, OneSampleOrAStaleOneIsRateZero) {
  SampleRing ring(1, 10);
  ring.Add(10'000, Row(5));
  EXPECT_EQ(Details(ring, 0, 11'000, 5000, std::nullopt), json({{"rate", 0.0}}));
  ring.Add(15'000, Row(10));
  // now 26 s: the current interval starts at 25 s, the one before at 20 s;
  // the newest sample (15 s) is older than that.
  EXPECT_EQ(Details(ring, 0, 26'000, 5000, std::nullopt), json({{"rate", 0.0}}));
  EXPECT_EQ(Details(ring, 0, 24'000, 5000, std::nullopt), json({{"rate", 1.0}}));
}

TEST(Details, ARangeGivesOnePointPerIncrementNewestFirst) {
  SampleRing ring(2, 100);
  // Samples a little after each second: value = 10 * second.
  for (int64_t s = 1; s <= 10; ++s) ring.Add(s * 1000 + 300, Row(s * 10, 7));
  // now 10.8 s, age 8, incr 2: points at 10, 8, 6, 4, 2 s.
  json d = Details(ring, 0, 10'800, 1000, Range{8000, 2000});
  json expected_samples = json::array();
  // At 10 s the newest sample at or before it is the one of 9.3 s (90).
  for (int64_t t : {10, 8, 6, 4, 2})
    expected_samples.push_back({{"sample", (t - 1) * 10}, {"timestamp", t * 1000}});
  EXPECT_EQ(d["samples"], expected_samples);
  EXPECT_DOUBLE_EQ(d["rate"].get<double>(), 10.0);      // (90 - 70) / 2 s
  EXPECT_DOUBLE_EQ(d["avg_rate"].get<double>(), 10.0);  // (90 - 10) / 8 s
  EXPECT_DOUBLE_EQ(d["avg"].get<double>(), 50.0);       // (90+70+50+30+10) / 5
  // The other column, constant.
  json other = Details(ring, 1, 10'800, 1000, Range{8000, 2000});
  EXPECT_DOUBLE_EQ(other["rate"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(other["avg"].get<double>(), 7.0);
}

TEST(Details, ARangeHasNoPointsBeforeTheOldestSample) {
  SampleRing ring(1, 100);
  ring.Add(8'500, Row(3));
  ring.Add(9'500, Row(5));
  json d = Details(ring, 0, 10'100, 1000, Range{5000, 1000});
  // Points at 10 and 9 s only (8 s and before precede the first sample).
  EXPECT_EQ(d["samples"], json::parse(R"([{"sample":5,"timestamp":10000},
                                           {"sample":3,"timestamp":9000}])"));
  EXPECT_DOUBLE_EQ(d["rate"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(d["avg"].get<double>(), 4.0);

  SampleRing one(1, 10);
  one.Add(9'500, Row(5));
  json single = Details(one, 0, 10'100, 1000, Range{5000, 1000});
  EXPECT_EQ(single, json::parse(R"({"rate":0.0,"samples":[{"sample":5,"timestamp":10000}]})"));
  EXPECT_EQ(NoDetails(Range{60000, 5000}), json::parse(R"({"rate":0.0,"samples":[]})"));
  EXPECT_EQ(NoDetails(std::nullopt), json::parse(R"({"rate":0.0})"));
}

TEST(ParseRanges, AgeAndIncrementInSecondsPerFamily) {
  Ranges r;
  ASSERT_FALSE(ParseRanges({{"msg_rates_age", "60"}, {"msg_rates_incr", "5"},
                            {"lengths_age", "600"}, {"lengths_incr", "60"}},
                           r));
  ASSERT_TRUE(r[static_cast<size_t>(RangeFamily::kMsgRates)]);
  EXPECT_EQ(r[static_cast<size_t>(RangeFamily::kMsgRates)]->age_ms, 60'000);
  EXPECT_EQ(r[static_cast<size_t>(RangeFamily::kMsgRates)]->incr_ms, 5'000);
  EXPECT_EQ(r[static_cast<size_t>(RangeFamily::kLengths)]->incr_ms, 60'000);
  EXPECT_FALSE(r[static_cast<size_t>(RangeFamily::kDataRates)]);
  EXPECT_FALSE(r[static_cast<size_t>(RangeFamily::kNodeStats)]);
  // One of the two alone asks no range, as RabbitMQ reads it.
  ASSERT_FALSE(ParseRanges({{"data_rates_age", "60"}}, r));
  EXPECT_FALSE(r[static_cast<size_t>(RangeFamily::kDataRates)]);
  // 500 samples is the most.
  EXPECT_FALSE(ParseRanges({{"node_stats_age", "500"}, {"node_stats_incr", "1"}}, r));
}

TEST(ParseRanges, BadAgesAreRefusedAsRabbitMQWords) {
  Ranges r;
  EXPECT_EQ(ParseRanges({{"msg_rates_age", "0"}, {"msg_rates_incr", "5"}}, r),
            "Invalid range parameters: age 0, incr 5");
  EXPECT_EQ(ParseRanges({{"lengths_age", "-60"}, {"lengths_incr", "5"}}, r),
            "Invalid range parameters: age -60, incr 5");
  EXPECT_EQ(ParseRanges({{"lengths_age", "60"}, {"lengths_incr", "0"}}, r),
            "Invalid range parameters: age 60, incr 0");
  EXPECT_EQ(ParseRanges({{"msg_rates_age", "ten"}, {"msg_rates_incr", "5"}}, r),
            "Invalid range parameters: age ten, incr 5");
  EXPECT_EQ(ParseRanges({{"msg_rates_age", "60"}}, r), std::nullopt);
  EXPECT_TRUE(ParseRanges({{"msg_rates_incr", "1.5"}}, r));  // given, and not a number
  EXPECT_EQ(ParseRanges({{"node_stats_age", "501"}, {"node_stats_incr", "1"}}, r),
            "Invalid range parameters: age 501, incr 1");
  EXPECT_TRUE(ParseRanges({{"msg_rates_age", "99999999999999999999"}, {"msg_rates_incr", "1"}},
                          r));
}

}  // namespace
}  // namespace warren::mgmt
