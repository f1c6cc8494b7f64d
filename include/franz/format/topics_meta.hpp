// franz — the topics file (topics.meta), version 1: every topic of a data
// directory, its partition count and its config overrides.
//
//   0               8       12      14      16      20      24              32
//   +---------------+-------+-------+-------+-------+-------+---------------+
//   | checksum      | magic |version| rsvd  | count | rsvd  | next_topic_id |
//   +---------------+-------+-------+-------+-------+-------+---------------+
//   32: count topics, each:
//     u64 topic_id, u32 partitions, u16 name length, name,
//     u16 config count, then per entry: u16 key length, key,
//                                       u32 value length, value
//
// magic is "FZTM" (0x4d545a46 LE); version is 1; reserved fields are zero.
// checksum is XXH3-64 of bytes [8, end). topic_id numbers a topic's
// incarnation (a topic deleted and created again gets a new one); it also
// names the directories of a deleted topic while they are being removed.
// Config holds only the topic's overrides of the broker defaults, as Kafka
// stores them, so a changed default applies to topics that did not set it.
// The file is replaced atomically (write .tmp, fsync, rename, fsync the
// directory): it always holds either the old or the new set of topics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "franz/format/endian.hpp"
#include "franz/format/file_names.hpp"
#include "franz/format/record_batch.hpp"  // XXH3, inlined

namespace franz::format {

inline constexpr std::uint32_t topics_magic = 0x4d545a46;  // "FZTM"
inline constexpr std::uint16_t topics_version = 1;
inline constexpr std::size_t topics_header_size = 32;
// A topics file larger than this is damage, not data (and a decoder must
// not allocate what a hostile length asks for).
inline constexpr std::size_t max_topics_file_size = 64u << 20;
inline constexpr std::int32_t max_partitions = 1 << 20;

struct topic_meta {
  std::string name;
  std::uint64_t topic_id = 0;
  std::int32_t partitions = 0;
  std::map<std::string, std::string> config;  // overrides only
  friend bool operator==(const topic_meta&, const topic_meta&) = default;
};

struct topics_meta {
  std::uint64_t next_topic_id = 1;
  std::vector<topic_meta> topics;  // in name order
  friend bool operator==(const topics_meta&, const topics_meta&) = default;
};

[[nodiscard]] inline std::vector<std::byte> encode_topics(const topics_meta& m) {
  std::vector<std::byte> out(topics_header_size);
  auto put = [&out](auto v) {
    const std::size_t at = out.size();
    out.resize(at + sizeof v);
    store_le(out.data() + at, v);
  };
  auto put_str = [&out](std::string_view s) {
    const std::size_t at = out.size();
    out.resize(at + s.size());
    if (!s.empty()) std::memcpy(out.data() + at, s.data(), s.size());
  };
  for (const auto& t : m.topics) {
    put(t.topic_id);
    put(t.partitions);
    put(static_cast<std::uint16_t>(t.name.size()));
    put_str(t.name);
    put(static_cast<std::uint16_t>(t.config.size()));
    for (const auto& [k, v] : t.config) {
      put(static_cast<std::uint16_t>(k.size()));
      put_str(k);
      put(static_cast<std::uint32_t>(v.size()));
      put_str(v);
    }
  }
  store_le(out.data() + 8, topics_magic);
  store_le(out.data() + 12, topics_version);
  store_le(out.data() + 14, std::uint16_t{0});
  store_le(out.data() + 16, static_cast<std::uint32_t>(m.topics.size()));
  store_le(out.data() + 20, std::uint32_t{0});
  store_le(out.data() + 24, m.next_topic_id);
  store_le(out.data() + 0, XXH3_64bits(out.data() + 8, out.size() - 8));
  return out;
}

// nullopt if in is not a valid version-1 topics file: bad checksum, magic
// or version, a length that overruns the file, bytes left over, an invalid
// or repeated topic name, or a partition count outside [1, max_partitions].
[[nodiscard]] inline std::optional<topics_meta> decode_topics(std::span<const std::byte> in) {
  if (in.size() < topics_header_size || in.size() > max_topics_file_size) return std::nullopt;
  if (load_le<std::uint64_t>(in.data()) != XXH3_64bits(in.data() + 8, in.size() - 8)) return std::nullopt;
  if (load_le<std::uint32_t>(in.data() + 8) != topics_magic) return std::nullopt;
  if (load_le<std::uint16_t>(in.data() + 12) != topics_version) return std::nullopt;
  if (load_le<std::uint16_t>(in.data() + 14) != 0 || load_le<std::uint32_t>(in.data() + 20) != 0) return std::nullopt;
  topics_meta m;
  const auto count = load_le<std::uint32_t>(in.data() + 16);
  m.next_topic_id = load_le<std::uint64_t>(in.data() + 24);
  std::size_t pos = topics_header_size;
  auto get = [&]<class T>(T& v) {
    if (in.size() - pos < sizeof v) return false;
    v = load_le<T>(in.data() + pos);
    pos += sizeof v;
    return true;
  };
  auto get_str = [&](std::string& s, std::size_t n) {
    if (in.size() - pos < n) return false;
    s.assign(reinterpret_cast<const char*>(in.data() + pos), n);
    pos += n;
    return true;
  };
  for (std::uint32_t i = 0; i < count; ++i) {
    topic_meta t;
    std::uint16_t name_len = 0, configs = 0;
    if (!get(t.topic_id) || !get(t.partitions) || !get(name_len) || !get_str(t.name, name_len) || !get(configs))
      return std::nullopt;
    if (topic_name_problem(t.name) != nullptr || t.partitions < 1 || t.partitions > max_partitions ||
        t.topic_id == 0 || t.topic_id >= m.next_topic_id)
      return std::nullopt;
    if (!m.topics.empty() && m.topics.back().name >= t.name) return std::nullopt;  // sorted, unique
    for (std::uint16_t c = 0; c < configs; ++c) {
      std::uint16_t klen = 0;
      std::uint32_t vlen = 0;
      std::string k, v;
      if (!get(klen) || !get_str(k, klen) || !get(vlen) || !get_str(v, vlen)) return std::nullopt;
      if (!t.config.emplace(std::move(k), std::move(v)).second) return std::nullopt;
    }
    m.topics.push_back(std::move(t));
  }
  if (pos != in.size()) return std::nullopt;
  return m;
}

}  // namespace franz::format
