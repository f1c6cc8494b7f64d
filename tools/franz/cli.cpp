// franz CLI — shared pieces (see cli.hpp).
#include "cli.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

namespace franz::cli {

int exit_code_of(const error& e) noexcept {
  switch (e.code) {
    case errc::none: return exit_ok;
    case errc::invalid_config:
    case errc::invalid_topic_exception:
    case errc::invalid_partitions:
    case errc::invalid_group_id:
    case errc::invalid_regular_expression:
    case errc::invalid_timestamp:
    case errc::unsupported_compression_type: return exit_usage;
    case errc::unknown_topic_or_partition:
    case errc::group_id_not_found: return exit_not_found;
    case errc::corrupt_message: return exit_corrupt;
    case errc::log_dir_locked:
    case errc::invalid_log_dir: return exit_data_dir;
    default: return exit_failed;
  }
}

int report(std::string_view command, const error& e) {
  std::fprintf(stderr, "franz %.*s: %s\n", static_cast<int>(command.size()), command.data(), e.to_string().c_str());
  return exit_code_of(e);
}

int report(std::string_view command, int code, std::string_view message) {
  std::fprintf(stderr, "franz %.*s: %.*s\n", static_cast<int>(command.size()), command.data(),
               static_cast<int>(message.size()), message.data());
  return code;
}

opened open_data_dir(const context& ctx, std::string_view command, bool create) {
  const std::string& dir = ctx.data_dir;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT || !create)
      return {nullptr, report(command, exit_data_dir,
                              errno == ENOENT ? fmt::format("data directory {} does not exist (set --data-dir or "
                                                            "FRANZ_DATA_DIR; `franz topics --create` creates it)",
                                                            dir)
                                              : fmt::format("data directory {}: {}", dir, std::strerror(errno)))};
  } else if (!S_ISDIR(st.st_mode)) {
    return {nullptr, report(command, exit_data_dir, fmt::format("data directory {} is not a directory", dir))};
  } else if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return {nullptr, report(command, exit_data_dir, fmt::format("data directory {} is not writable", dir))};
  }
  // Tools are short-lived: no maintenance thread (retention and flush.ms
  // are the application's business).
  auto b = broker::open({.data_dir = dir, .create_if_missing = create, .background_maintenance = false});
  if (b) return {std::move(*b), exit_ok};
  const error& e = b.error();
  if (e.code == errc::log_dir_locked)
    return {nullptr, report(command, exit_data_dir,
                            fmt::format("data directory {} is locked by another process (an application using "
                                        "franz, or another franz command); stop it and retry",
                                        dir))};
  if (e.sys_errno == EACCES || e.sys_errno == EPERM || e.sys_errno == EROFS)
    return {nullptr, report(command, exit_data_dir,
                            fmt::format("data directory {} is not writable: {}", dir, e.to_string()))};
  if (e.sys_errno == ENOENT)
    return {nullptr, report(command, exit_data_dir,
                            fmt::format("data directory {} cannot be created: {}", dir, e.to_string()))};
  return {nullptr, report(command, e)};
}

std::optional<std::pair<std::string, std::string>> split_property(std::string_view kv) {
  const auto eq = kv.find('=');
  if (eq == std::string_view::npos || eq == 0) return std::nullopt;
  return std::pair{std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1))};
}

std::optional<std::map<std::string, std::string>> parse_properties(std::string_view command, std::string_view option,
                                                                   const std::vector<std::string>& kvs) {
  std::map<std::string, std::string> out;
  for (const auto& kv : kvs) {
    auto p = split_property(kv);
    if (!p) {
      report(command, exit_usage, fmt::format("{} '{}': expected key=value", option, kv));
      return std::nullopt;
    }
    out[p->first] = p->second;
  }
  return out;
}

namespace {
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char c = s[++i];
      out += c == 't' ? '\t' : c == 'n' ? '\n' : c;
    } else {
      out += s[i];
    }
  }
  return out;
}
}  // namespace

status apply_properties(std::string_view option, const std::map<std::string, std::string>& props,
                        const property_targets& t) {
  for (const auto& [k, v] : props) {
    if (auto f = t.flags.find(k); f != t.flags.end()) {
      if (v != "true" && v != "false")
        return make_error(errc::invalid_config, fmt::format("{} {}: '{}' is not true or false", option, k, v));
      *f->second = v == "true";
    } else if (auto s = t.strings.find(k); s != t.strings.end()) {
      *s->second = unescape(v);
    } else if (auto o = t.optional_strings.find(k); o != t.optional_strings.end()) {
      *o->second = unescape(v);
    } else {
      return make_error(errc::invalid_config, fmt::format("{} {}: unknown property", option, k));
    }
  }
  return {};
}

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned c = at(i);
  std::size_t len = 0;
  unsigned lo = 0x80, hi = 0xbf;  // the second byte's range
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    lo = c == 0xe0 ? 0xa0 : 0x80;  // not overlong
    hi = c == 0xed ? 0x9f : 0xbf;  // not a surrogate
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    lo = c == 0xf0 ? 0x90 : 0x80;  // not overlong
    hi = c == 0xf4 ? 0x8f : 0xbf;  // not above U+10FFFF
  }
  if (len == 0 || i + len > s.size() || at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if (at(i + k) < 0x80 || at(i + k) > 0xbf) return 0;
  return len;
}

// --- progress bar --------------------------------------------------------------

progress_bar::progress_bar(std::string label, std::uint64_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

progress_bar::~progress_bar() { finish(); }

void progress_bar::update(std::uint64_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done != total_) return;
  last_ = now;
  draw(done);
}

void progress_bar::draw(std::uint64_t done) {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  std::string line;
  if (total_ > 0) {
    constexpr int width = 30;
    const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
    const int full = static_cast<int>(frac * width);
    line = fmt::format("\r{} [{}{}] {:3.0f}% {}/{} {:.0f}/s", label_, std::string(static_cast<std::size_t>(full), '#'),
                       std::string(static_cast<std::size_t>(width - full), '.'), frac * 100, done, total_, rate);
  } else {
    line = fmt::format("\r{} {} {:.0f}/s", label_, done, rate);
  }
  line += "\x1b[K";  // clear the rest of the line
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  drawn_ = true;
}

void progress_bar::finish() {
  if (!enabled_ || !drawn_) return;
  std::fputs("\r\x1b[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace franz::cli
