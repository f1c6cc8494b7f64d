// franz — per-log configuration, with Kafka's topic-level key names.
//
// Every field documents its Kafka key, its default and its valid range.
// log_config::parse() accepts Kafka-style string properties; validate()
// returns INVALID_CONFIG naming the key, and nothing is created on failure.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "franz/error.hpp"
#include "franz/format/record_batch.hpp"

namespace franz {

enum class cleanup_policy : std::uint8_t { del = 1, compact = 2, compact_delete = 3 };

struct log_config {
  static constexpr std::int64_t unlimited = -1;

  // segment.bytes: roll a new segment before one would grow past this.
  // Default 1 GiB; range [1024, 2^31 - 1] (positions are 31-bit).
  std::int64_t segment_bytes = std::int64_t{1} << 30;
  // segment.ms: roll once the active segment's first append is this old.
  // Default 7 days; >= 1.
  std::int64_t segment_ms = 7LL * 24 * 3600 * 1000;
  // segment.index.bytes: size limit of each index file; roll when full.
  // Default 10 MiB; range [24, 2^31 - 1].
  std::int64_t segment_index_bytes = 10 << 20;
  // index.interval.bytes: bytes of log between sparse index entries.
  // Default 4096; >= 0 (0 indexes every batch).
  std::int64_t index_interval_bytes = 4096;
  // flush.messages: fsync after this many records. 1 = every append
  // ("always"); default Long.MAX ("never": flush() or flush.ms only).
  std::int64_t flush_messages = std::numeric_limits<std::int64_t>::max();
  // flush.ms: fsync when the last fsync is this old (checked on append and
  // by tick()). Default Long.MAX (never); >= 0.
  std::int64_t flush_ms = std::numeric_limits<std::int64_t>::max();
  // retention.ms: delete sealed segments whose newest record is older.
  // Default 7 days; -1 = unlimited.
  std::int64_t retention_ms = 7LL * 24 * 3600 * 1000;
  // retention.bytes: delete oldest sealed segments while the log exceeds
  // this. Default -1 = unlimited.
  std::int64_t retention_bytes = unlimited;
  // max.message.bytes: largest batch accepted. Default 1048588 (Kafka's);
  // range [64, 2^31 - 1]. Also capped by segment.bytes.
  std::int64_t max_message_bytes = 1048588;
  // message.timestamp.type: CreateTime (default) or LogAppendTime.
  timestamp_type message_timestamp_type = timestamp_type::create_time;
  // compression.type: codec for batches the log encodes itself; nullopt is
  // Kafka's "producer" (the default): keep what the producer sent, encode
  // record appends uncompressed.
  std::optional<compression> compression_type = std::nullopt;
  // cleanup.policy: delete (default), compact, or compact,delete.
  cleanup_policy policy = cleanup_policy::del;

  // Applies Kafka-style properties over this config. Unknown keys and bad
  // values give INVALID_CONFIG; on error *this is unchanged.
  [[nodiscard]] status apply(const std::map<std::string, std::string>& props);
  // Checks every range above.
  [[nodiscard]] status validate() const;
  // The effective largest batch: min(max.message.bytes, segment.bytes).
  [[nodiscard]] std::int64_t max_batch_bytes() const noexcept {
    return std::min(max_message_bytes, segment_bytes);
  }
  // Kafka-style properties for every field (for describe and persistence).
  [[nodiscard]] std::map<std::string, std::string> to_properties() const;
};

}  // namespace franz
