// franz — the records of the internal topic __consumer_offsets: committed
// offsets of consumer groups.
//
// Each commit is a record whose key names what it sets, so that log
// compaction (which keeps the last record per key) keeps exactly the last
// commit of each (group, topic, partition), and a null value (a tombstone)
// deletes it. Readers apply records in log order: the last one wins.
//
//   key, version 1 (an offset commit):
//     u16 version = 1 | u16 group length | group | u16 topic length | topic
//     | i32 partition
//   key, version 2 (reserved for group metadata; franz writes none yet):
//     u16 version = 2 | u16 group length | group
//   value, version 1 (null: the commit is deleted):
//     u16 version = 1 | i64 offset | i64 commit timestamp (ms)
//     | u16 metadata length | metadata
//
// Integers are little-endian, as in every franz file. The record batch
// around these records carries the checksum. Strings are Kafka-bounded:
// group ids and topic names fit u16 lengths (topic names are at most 249
// bytes), metadata at most offset.metadata.max.bytes (4096).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "franz/error.hpp"
#include "franz/format/endian.hpp"

namespace franz::format {

inline constexpr std::uint16_t offset_key_version = 1;
inline constexpr std::uint16_t group_key_version = 2;
inline constexpr std::uint16_t offset_value_version = 1;
// Kafka's offset.metadata.max.bytes default.
inline constexpr std::size_t max_offset_metadata = 4096;
inline constexpr std::size_t max_group_id_size = 0xffff;
// The fixed bytes of a version-1 key (version, two lengths, partition) and
// value (version, offset, timestamp, metadata length).
inline constexpr std::size_t offset_key_fixed_size =
    sizeof(std::uint16_t) + 2 * sizeof(std::uint16_t) + sizeof(std::int32_t);
inline constexpr std::size_t offset_value_fixed_size =
    sizeof(std::uint16_t) + 2 * sizeof(std::int64_t) + sizeof(std::uint16_t);
static_assert(offset_key_fixed_size == 10);
static_assert(offset_value_fixed_size == 20);

struct offset_key {
  std::string group;
  std::string topic;
  std::int32_t partition = 0;
  friend bool operator==(const offset_key&, const offset_key&) = default;
};

struct offset_value {
  std::int64_t offset = 0;
  std::int64_t commit_timestamp = 0;
  std::string metadata;
  friend bool operator==(const offset_value&, const offset_value&) = default;
};

namespace detail {
inline void put_u16_string(std::string& out, std::string_view s) {
  const std::size_t at = out.size();
  out.resize(at + 2 + s.size());
  store_le(reinterpret_cast<std::byte*>(out.data() + at), static_cast<std::uint16_t>(s.size()));
  if (!s.empty()) std::memcpy(out.data() + at + 2, s.data(), s.size());
}
template <class T>
void put_int(std::string& out, T v) {
  const std::size_t at = out.size();
  out.resize(at + sizeof v);
  store_le(reinterpret_cast<std::byte*>(out.data() + at), v);
}

// A bounds-checked cursor over one key or value.
class cursor {
 public:
  explicit cursor(std::string_view b) noexcept : p_(b.data()), end_(b.data() + b.size()) {}
  template <class T>
  bool get(T& v) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < sizeof v) return false;
    v = load_le<T>(reinterpret_cast<const std::byte*>(p_));
    p_ += sizeof v;
    return true;
  }
  bool get_string(std::string& s) {
    std::uint16_t n = 0;
    if (!get(n) || static_cast<std::size_t>(end_ - p_) < n) return false;
    s.assign(p_, n);
    p_ += n;
    return true;
  }
  [[nodiscard]] bool done() const noexcept { return p_ == end_; }

 private:
  const char* p_;
  const char* end_;
};

[[nodiscard]] inline error bad_offsets_record(std::string_view what) {
  return make_error(errc::corrupt_message, std::string("__consumer_offsets record: ") + std::string(what));
}
}  // namespace detail

// Callers keep group ids and topic names within u16 lengths (the
// coordinator checks group ids; topic names are at most 249 bytes).
[[nodiscard]] inline std::string encode_offset_key(const offset_key& k) {
  std::string out;
  out.reserve(offset_key_fixed_size + k.group.size() + k.topic.size());
  detail::put_int(out, offset_key_version);
  detail::put_u16_string(out, k.group);
  detail::put_u16_string(out, k.topic);
  detail::put_int(out, k.partition);
  return out;
}

[[nodiscard]] inline std::string encode_offset_value(const offset_value& v) {
  std::string out;
  out.reserve(offset_value_fixed_size + v.metadata.size());
  detail::put_int(out, offset_value_version);
  detail::put_int(out, v.offset);
  detail::put_int(out, v.commit_timestamp);
  detail::put_u16_string(out, v.metadata);
  return out;
}

// The key's version without decoding the rest (CORRUPT_MESSAGE if shorter
// than two bytes).
[[nodiscard]] inline result<std::uint16_t> offsets_key_version(std::string_view key) {
  detail::cursor c(key);
  std::uint16_t v = 0;
  if (!c.get(v)) return detail::bad_offsets_record("key shorter than its version");
  return v;
}

// CORRUPT_MESSAGE for a key that is not a version-1 key, or whose lengths
// overrun it, or with bytes after the partition.
[[nodiscard]] inline result<offset_key> decode_offset_key(std::string_view key) {
  detail::cursor c(key);
  std::uint16_t v = 0;
  offset_key k;
  if (!c.get(v)) return detail::bad_offsets_record("key shorter than its version");
  if (v != offset_key_version) return detail::bad_offsets_record("key version " + std::to_string(v) + " is not an offset key");
  if (!c.get_string(k.group) || !c.get_string(k.topic) || !c.get(k.partition) || !c.done())
    return detail::bad_offsets_record("offset key lengths do not match its size");
  if (k.partition < 0) return detail::bad_offsets_record("negative partition");
  return k;
}

[[nodiscard]] inline result<offset_value> decode_offset_value(std::string_view value) {
  detail::cursor c(value);
  std::uint16_t v = 0;
  offset_value out;
  if (!c.get(v)) return detail::bad_offsets_record("value shorter than its version");
  if (v != offset_value_version)
    return detail::bad_offsets_record("unknown offset value version " + std::to_string(v));
  if (!c.get(out.offset) || !c.get(out.commit_timestamp) || !c.get_string(out.metadata) || !c.done())
    return detail::bad_offsets_record("offset value lengths do not match its size");
  if (out.offset < 0) return detail::bad_offsets_record("negative offset");
  return out;
}

}  // namespace franz::format
