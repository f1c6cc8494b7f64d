// franz — every file name in a partition directory, built and parsed here.
//
//   00000000000000000000.log        segment data, named by its base offset
//   00000000000000000000.index      offset index of that segment
//   00000000000000000000.timeindex  time index of that segment
//   partition.checkpoint            log start offset and recovery point
//   .lock                           the writer's lock (flock)
//   <one of the above>.tmp          a file being written; removed on open
#pragma once

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

}  // namespace franz::format
