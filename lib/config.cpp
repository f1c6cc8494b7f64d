// franz — log_config parsing and validation.
#include "franz/storage/config.hpp"

#include <charconv>

#include <fmt/format.h>

#include "franz/codec/codec.hpp"
#include "properties.hpp"

namespace franz {

namespace {

using props::bad;
using props::check_range;
using props::parse_long;

constexpr std::int64_t max_int32 = std::numeric_limits<std::int32_t>::max();

}  // namespace

status log_config::validate() const {
  FRANZ_TRY(check_range("segment.bytes", segment_bytes, 1024, max_int32));
  FRANZ_TRY(check_range("segment.ms", segment_ms, 1, std::numeric_limits<std::int64_t>::max()));
  FRANZ_TRY(check_range("segment.index.bytes", segment_index_bytes, 24, max_int32));
  FRANZ_TRY(check_range("index.interval.bytes", index_interval_bytes, 0, max_int32));
  FRANZ_TRY(check_range("flush.messages", flush_messages, 1, std::numeric_limits<std::int64_t>::max()));
  FRANZ_TRY(check_range("flush.ms", flush_ms, 0, std::numeric_limits<std::int64_t>::max()));
  if (retention_ms < -1) return bad("retention.ms", fmt::format("{} is negative (use -1 for unlimited)", retention_ms));
  if (retention_bytes < -1)
    return bad("retention.bytes", fmt::format("{} is negative (use -1 for unlimited)", retention_bytes));
  FRANZ_TRY(check_range("max.message.bytes", max_message_bytes, static_cast<std::int64_t>(format::batch_header_size),
                        max_int32));
  return {};
}

status log_config::apply(const std::map<std::string, std::string>& props) {
  log_config c = *this;
  for (const auto& kv : props) {
    const std::string& k = kv.first;
    const std::string& v = kv.second;
    auto set_long = [&](std::int64_t& field) -> status {
      auto n = parse_long(k, v);
      if (!n) return std::move(n).error();
      field = *n;
      return {};
    };
    if (k == "segment.bytes") FRANZ_TRY(set_long(c.segment_bytes));
    else if (k == "segment.ms") FRANZ_TRY(set_long(c.segment_ms));
    else if (k == "segment.index.bytes") FRANZ_TRY(set_long(c.segment_index_bytes));
    else if (k == "index.interval.bytes") FRANZ_TRY(set_long(c.index_interval_bytes));
    else if (k == "flush.messages") FRANZ_TRY(set_long(c.flush_messages));
    else if (k == "flush.ms") FRANZ_TRY(set_long(c.flush_ms));
    else if (k == "retention.ms") FRANZ_TRY(set_long(c.retention_ms));
    else if (k == "retention.bytes") FRANZ_TRY(set_long(c.retention_bytes));
    else if (k == "max.message.bytes") FRANZ_TRY(set_long(c.max_message_bytes));
    else if (k == "message.timestamp.type") {
      if (v == "CreateTime") c.message_timestamp_type = timestamp_type::create_time;
      else if (v == "LogAppendTime") c.message_timestamp_type = timestamp_type::log_append_time;
      else return bad(k, fmt::format("'{}' is not CreateTime or LogAppendTime", v));
    } else if (k == "compression.type") {
      if (v == "producer") {
        c.compression_type = std::nullopt;
      } else {
        auto codec = codec::parse_compression(v);
        if (!codec) return bad(k, fmt::format("'{}' is not one of producer, none, lz4, zstd", v));
        c.compression_type = *codec;
      }
    } else if (k == "cleanup.policy") {
      if (v == "delete") c.policy = cleanup_policy::del;
      else if (v == "compact") c.policy = cleanup_policy::compact;
      else if (v == "compact,delete" || v == "delete,compact") c.policy = cleanup_policy::compact_delete;
      else return bad(k, fmt::format("'{}' is not delete, compact or compact,delete", v));
    } else {
      return bad(k, "unknown config key");
    }
  }
  FRANZ_TRY(c.validate());
  *this = c;
  return {};
}

std::map<std::string, std::string> log_config::to_properties() const {
  std::map<std::string, std::string> p;
  p["segment.bytes"] = std::to_string(segment_bytes);
  p["segment.ms"] = std::to_string(segment_ms);
  p["segment.index.bytes"] = std::to_string(segment_index_bytes);
  p["index.interval.bytes"] = std::to_string(index_interval_bytes);
  p["flush.messages"] = std::to_string(flush_messages);
  p["flush.ms"] = std::to_string(flush_ms);
  p["retention.ms"] = std::to_string(retention_ms);
  p["retention.bytes"] = std::to_string(retention_bytes);
  p["max.message.bytes"] = std::to_string(max_message_bytes);
  p["message.timestamp.type"] =
      message_timestamp_type == timestamp_type::create_time ? "CreateTime" : "LogAppendTime";
  p["compression.type"] =
      compression_type ? std::string(codec::compression_name(*compression_type)) : std::string("producer");
  p["cleanup.policy"] = policy == cleanup_policy::del       ? "delete"
                        : policy == cleanup_policy::compact ? "compact"
                                                            : "compact,delete";
  return p;
}

}  // namespace franz
