// franz — parsing Kafka-style string properties (private to lib/): shared by
// log_config, producer_config and consumer_config.
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>

#include <fmt/format.h>

#include "franz/error.hpp"

namespace franz::props {

// INVALID_CONFIG naming the key.
[[nodiscard]] inline error bad(std::string_view key, std::string_view why) {
  return make_error(errc::invalid_config, fmt::format("{}: {}", key, why));
}

[[nodiscard]] inline result<std::int64_t> parse_long(std::string_view key, std::string_view v) {
  std::int64_t out = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc{} || p != v.data() + v.size() || v.empty())
    return bad(key, fmt::format("'{}' is not a 64-bit integer", v));
  return out;
}

[[nodiscard]] inline result<bool> parse_bool(std::string_view key, std::string_view v) {
  if (v == "true") return true;
  if (v == "false") return false;
  return bad(key, fmt::format("'{}' is not true or false", v));
}

[[nodiscard]] inline status check_range(std::string_view key, std::int64_t v, std::int64_t lo, std::int64_t hi) {
  if (v < lo || v > hi) return bad(key, fmt::format("{} is outside [{}, {}]", v, lo, hi));
  return {};
}

}  // namespace franz::props
