// log_config: Kafka-style keys, defaults and range checks.
#include "test_util.hpp"

namespace franz {

TEST_CASE("log_config defaults are Kafka's topic defaults", "[config]") {
  const log_config c;
  CHECK(c.segment_bytes == 1073741824);
  CHECK(c.segment_ms == 604800000);
  CHECK(c.segment_index_bytes == 10485760);
  CHECK(c.index_interval_bytes == 4096);
  CHECK(c.retention_ms == 604800000);
  CHECK(c.retention_bytes == -1);
  CHECK(c.max_message_bytes == 1048588);
  CHECK(c.flush_messages == INT64_MAX);
  CHECK(c.flush_ms == INT64_MAX);
  CHECK(c.message_timestamp_type == timestamp_type::create_time);
  CHECK_FALSE(c.compression_type.has_value());
  CHECK(c.policy == cleanup_policy::del);
  CHECK(c.validate().ok());
}

TEST_CASE("apply parses every Kafka key and round-trips through to_properties", "[config]") {
  log_config c;
  const std::map<std::string, std::string> props = {
      {"segment.bytes", "2048"},          {"segment.ms", "60000"},
      {"segment.index.bytes", "4096"},    {"index.interval.bytes", "128"},
      {"flush.messages", "1"},            {"flush.ms", "1000"},
      {"retention.ms", "-1"},             {"retention.bytes", "1000000"},
      {"max.message.bytes", "1000"},      {"message.timestamp.type", "LogAppendTime"},
      {"compression.type", "zstd"},       {"cleanup.policy", "compact,delete"},
  };
  REQUIRE(c.apply(props).ok());
  CHECK(c.segment_bytes == 2048);
  CHECK(c.segment_ms == 60000);
  CHECK(c.segment_index_bytes == 4096);
  CHECK(c.index_interval_bytes == 128);
  CHECK(c.flush_messages == 1);
  CHECK(c.flush_ms == 1000);
  CHECK(c.retention_ms == -1);
  CHECK(c.retention_bytes == 1000000);
  CHECK(c.max_message_bytes == 1000);
  CHECK(c.message_timestamp_type == timestamp_type::log_append_time);
  CHECK(c.compression_type == compression::zstd);
  CHECK(c.policy == cleanup_policy::compact_delete);
  CHECK(c.to_properties() == props);
}

TEST_CASE("apply rejects bad keys and values with INVALID_CONFIG naming the key, and changes nothing", "[config]") {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"segment.bytes", "1023"},
      {"segment.bytes", "2147483648"},
      {"segment.bytes", "12abc"},
      {"segment.bytes", ""},
      {"segment.ms", "0"},
      {"retention.ms", "-2"},
      {"retention.bytes", "-3"},
      {"flush.messages", "0"},
      {"index.interval.bytes", "-1"},
      {"max.message.bytes", "10"},
      {"message.timestamp.type", "createtime"},
      {"compression.type", "gzip"},
      {"cleanup.policy", "forever"},
      {"no.such.key", "1"},
      {"segment.bytes", "99999999999999999999999"},
  };
  for (const auto& [k, v] : bad) {
    log_config c;
    const log_config before = c;
    auto s = c.apply({{k, v}});
    INFO(k << "=" << v);
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == errc::invalid_config);
    CHECK(s.error().message.find(k) != std::string::npos);
    CHECK(c.to_properties() == before.to_properties());
  }
}

TEST_CASE("errors print with their Kafka name", "[config]") {
  CHECK(errc_name(errc::offset_out_of_range) == "OFFSET_OUT_OF_RANGE");
  CHECK(errc_name(errc::corrupt_message) == "CORRUPT_MESSAGE");
  CHECK(errc_name(errc::kafka_storage_error) == "KAFKA_STORAGE_ERROR");
  const error e = make_error(errc::record_too_large, "batch of 5 bytes");
  CHECK(e.to_string() == "RECORD_TOO_LARGE: batch of 5 bytes");
  const error io = errno_error(ENOSPC, "fallocate x.log");
  CHECK(io.code == errc::out_of_space);
  CHECK(io.to_string().find("No space left on device") != std::string::npos);
}

}  // namespace franz
