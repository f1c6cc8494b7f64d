// franz — every file name in a data directory and in a partition
// directory, built and parsed here.
//
// A data directory (one broker) holds:
//   topics.meta                     every topic, its partitions and config
//   .lock                           the broker's lock (flock)
//   <topic>-<partition>/            one partition directory per partition
//   <topic>-<partition>.<id>-delete/  a deleted partition being removed
//
// A partition directory holds:
//   00000000000000000000.log        segment data, named by its base offset
//   00000000000000000000.index      offset index of that segment
//   00000000000000000000.timeindex  time index of that segment
//   partition.checkpoint            log start offset and recovery point
//   .lock                           the writer's lock (flock)
//   <one of the above>.tmp          a file being written; removed on open
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace franz::format {

inline constexpr std::string_view log_suffix = ".log";
inline constexpr std::string_view index_suffix = ".index";
inline constexpr std::string_view time_index_suffix = ".timeindex";
inline constexpr std::string_view tmp_suffix = ".tmp";
inline constexpr std::string_view checkpoint_file = "partition.checkpoint";
inline constexpr std::string_view lock_file = ".lock";
inline constexpr std::size_t offset_digits = 20;

// "00000000000000000042" + suffix.
[[nodiscard]] inline std::string segment_file(std::int64_t base_offset, std::string_view suffix) {
  return fmt::format("{:020d}{}", base_offset, suffix);
}

enum class file_kind : std::uint8_t { log, index, time_index, checkpoint, lock, temporary, foreign };

struct parsed_name {
  file_kind kind = file_kind::foreign;
  std::int64_t base_offset = -1;  // for segment files
};

[[nodiscard]] inline parsed_name parse_file_name(std::string_view name) {
  if (name == checkpoint_file) return {file_kind::checkpoint};
  if (name == lock_file) return {file_kind::lock};
  // A .tmp is ours only if the name under it is one of ours: franz does not
  // delete a stranger's file because of its suffix.
  if (name.size() > tmp_suffix.size() && name.ends_with(tmp_suffix)) {
    const auto under = parse_file_name(name.substr(0, name.size() - tmp_suffix.size()));
    if (under.kind == file_kind::foreign || under.kind == file_kind::temporary) return {};
    return {file_kind::temporary};
  }
  if (name.size() <= offset_digits) return {};
  std::int64_t v = 0;
  for (std::size_t i = 0; i < offset_digits; ++i) {
    const char c = name[i];
    if (c < '0' || c > '9') return {};
    if (v > (INT64_MAX - (c - '0')) / 10) return {};
    v = v * 10 + (c - '0');
  }
  const std::string_view suffix = name.substr(offset_digits);
  if (suffix == log_suffix) return {file_kind::log, v};
  if (suffix == index_suffix) return {file_kind::index, v};
  if (suffix == time_index_suffix) return {file_kind::time_index, v};
  return {};
}

// --- the data directory ----------------------------------------------------

inline constexpr std::string_view topics_file = "topics.meta";
inline constexpr std::string_view delete_suffix = "-delete";
// Kafka's limit: 249 characters, so "<topic>-<partition>" and the deletion
// suffix stay under common 255-byte file-name limits.
inline constexpr std::size_t max_topic_name_length = 249;

// Why name is not a valid topic name (Kafka's rules: 1 to 249 characters
// of [a-zA-Z0-9._-], and not "." or ".."), or nullptr if it is valid.
[[nodiscard]] inline const char* topic_name_problem(std::string_view name) noexcept {
  if (name.empty()) return "the name is empty";
  if (name.size() > max_topic_name_length) return "the name is longer than 249 characters";
  if (name == "." || name == "..") return "the name may not be '.' or '..'";
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return "the name may contain only ASCII letters, digits, '.', '_' and '-'";
  }
  return nullptr;
}

// "orders-3"
[[nodiscard]] inline std::string partition_dir(std::string_view topic, std::int32_t partition) {
  return fmt::format("{}-{}", topic, partition);
}

// "orders-3.17-delete": the name a partition directory is renamed to when
// its topic (incarnation topic_id) is deleted, before its files go.
[[nodiscard]] inline std::string deleted_partition_dir(std::string_view topic, std::int32_t partition,
                                                       std::uint64_t topic_id) {
  return fmt::format("{}-{}.{}{}", topic, partition, topic_id, delete_suffix);
}

enum class data_entry_kind : std::uint8_t { partition, deleted_partition, topics_file, lock, temporary, foreign };

struct parsed_data_entry {
  data_entry_kind kind = data_entry_kind::foreign;
  std::string_view topic;       // for partition
  std::int32_t partition = -1;  // for partition
};

// Classifies one name in a data directory. "<topic>-<n>" is split at the
// last '-', so topics may contain '-' themselves ("a-b-0" is a-b, 0).
[[nodiscard]] inline parsed_data_entry parse_data_entry(std::string_view name) noexcept {
  if (name == topics_file) return {data_entry_kind::topics_file, {}, -1};
  if (name == lock_file) return {data_entry_kind::lock, {}, -1};
  if (name.size() > tmp_suffix.size() && name.ends_with(tmp_suffix) &&
      name.substr(0, name.size() - tmp_suffix.size()) == topics_file)
    return {data_entry_kind::temporary, {}, -1};
  if (name.size() > delete_suffix.size() && name.ends_with(delete_suffix)) {
    // "<topic>-<n>.<id>-delete" and nothing else: a stranger's directory
    // that merely ends in -delete is foreign, never removed.
    const std::string_view stem = name.substr(0, name.size() - delete_suffix.size());
    const auto dot = stem.rfind('.');
    if (dot == std::string_view::npos || dot + 1 == stem.size()) return {};
    for (const char c : stem.substr(dot + 1))
      if (c < '0' || c > '9') return {};
    if (parse_data_entry(stem.substr(0, dot)).kind != data_entry_kind::partition) return {};
    return {data_entry_kind::deleted_partition, {}, -1};
  }
  const auto dash = name.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == name.size()) return {};
  const std::string_view topic = name.substr(0, dash);
  const std::string_view num = name.substr(dash + 1);
  std::int32_t p = -1;
  const auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), p);
  if (ec != std::errc{} || end != num.data() + num.size() || p < 0 || (num.size() > 1 && num[0] == '0')) return {};
  if (topic_name_problem(topic) != nullptr) return {};
  return {data_entry_kind::partition, topic, p};
}

}  // namespace franz::format
