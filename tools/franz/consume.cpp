// franz consume (kafka-console-consumer.sh): prints records to stdout.
//
// Without --group it assigns the partitions itself (--topic, or every topic
// --include matches, or one --partition) and starts at --offset, or the log
// start with --from-beginning, or the end (Kafka's default). With --group it
// subscribes, starts at the group's committed offsets, and commits what it
// has printed: every auto.commit.interval.ms, and on the way out — after
// --max-messages, --timeout-ms, Ctrl-C (SIGINT/SIGTERM) or a closed stdout.
// "Printed" means written and flushed to stdout, so a commit never covers a
// record the reader did not get.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <regex>
#include <string>

#include <fmt/format.h>

#include "cli.hpp"

namespace franz::cli {
namespace {

constexpr std::string_view cmd = "consume";

std::atomic<bool> stop_requested{false};
extern "C" void on_stop_signal(int) { stop_requested.store(true, std::memory_order_relaxed); }

// --- formatters ------------------------------------------------------------------

struct format_config {
  bool print_key = false, print_offset = false, print_partition = false, print_timestamp = false,
       print_headers = false, print_value = true;
  std::string key_separator = "\t", line_separator = "\n", headers_separator = ",", null_literal = "null";
};

result<format_config> formatter_config(const std::map<std::string, std::string>& props) {
  format_config c;
  FRANZ_TRY(apply_properties("--property", props,
                             {.flags = {{"print.key", &c.print_key},
                                        {"print.offset", &c.print_offset},
                                        {"print.partition", &c.print_partition},
                                        {"print.timestamp", &c.print_timestamp},
                                        {"print.headers", &c.print_headers},
                                        {"print.value", &c.print_value}},
                              .strings = {{"key.separator", &c.key_separator},
                                          {"line.separator", &c.line_separator},
                                          {"headers.separator", &c.headers_separator},
                                          {"null.literal", &c.null_literal}}}));
  return c;
}

std::string_view ts_type_name(timestamp_type t) {
  return t == timestamp_type::log_append_time ? "LogAppendTime" : "CreateTime";
}

// Kafka's DefaultMessageFormatter order: timestamp, partition, offset,
// headers, key, value; each printed field but the last is followed by
// key.separator.
void format_default(std::string& out, const consumer_record& r, const format_config& c) {
  auto field = [&](std::string_view s) {
    out.append(s);
    out.append(c.key_separator);
  };
  auto bytes = [&](bytes_view b) { return b.data() == nullptr ? std::string_view(c.null_literal) : b; };
  if (c.print_timestamp)
    field(r.ts.value() < 0 ? std::string("NO_TIMESTAMP") : fmt::format("{}:{}", ts_type_name(r.ts_type), r.ts.value()));
  if (c.print_partition) field(fmt::format("Partition:{}", r.partition));
  if (c.print_offset) field(fmt::format("Offset:{}", r.off.value()));
  if (c.print_headers) {
    std::string hs;
    auto it = r.headers();
    record_header h;
    while (it.next(h)) {
      if (!hs.empty()) hs += c.headers_separator;
      hs += fmt::format("{}:{}", h.key, bytes(h.value));
    }
    field(hs.empty() ? "NO_HEADERS" : hs);
  }
  if (c.print_key) field(bytes(r.key));
  if (c.print_value) out.append(bytes(r.value));
  else if (out.size() >= c.key_separator.size() && !c.key_separator.empty())
    out.resize(out.size() - c.key_separator.size());  // no separator after the last field
  out.append(c.line_separator);
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
    } else if (const std::size_t n = utf8_sequence_length(s, i); n > 0) {
      i += n;
    } else {
      return false;
    }
  }
  return true;
}

std::string base64(std::string_view s) {
  static constexpr char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += 3) {
    std::uint32_t v = static_cast<unsigned char>(s[i]) << 16;
    if (i + 1 < s.size()) v |= static_cast<unsigned char>(s[i + 1]) << 8;
    if (i + 2 < s.size()) v |= static_cast<unsigned char>(s[i + 2]);
    out += digits[(v >> 18) & 63];
    out += digits[(v >> 12) & 63];
    out += i + 1 < s.size() ? digits[(v >> 6) & 63] : '=';
    out += i + 2 < s.size() ? digits[v & 63] : '=';
  }
  return out;
}

void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += ch == '\n' ? "\\n" : ch == '\t' ? "\\t" : ch == '\r' ? "\\r" : fmt::format("\\u{:04x}", c);
    } else {
      out += ch;
    }
  }
  out += '"';
}

// "name":value for bytes: null, a JSON string if the bytes are UTF-8, else
// base64 with a sibling "<name>Encoding":"base64".
void json_bytes(std::string& out, std::string_view name, bytes_view b) {
  out += fmt::format("\"{}\":", name);
  if (b.data() == nullptr) {
    out += "null";
  } else if (valid_utf8(b)) {
    json_string(out, b);
  } else {
    json_string(out, base64(b));
    out += fmt::format(",\"{}Encoding\":\"base64\"", name);
  }
}

void format_json(std::string& out, const consumer_record& r) {
  out += "{\"topic\":";
  json_string(out, r.topic);
  out += fmt::format(",\"partition\":{},\"offset\":{},\"timestamp\":{},\"timestampType\":\"{}\",\"headers\":[",
                     r.partition, r.off.value(), r.ts.value(), ts_type_name(r.ts_type));
  auto it = r.headers();
  record_header h;
  bool first = true;
  while (it.next(h)) {
    out += first ? "{\"key\":" : ",{\"key\":";
    first = false;
    json_string(out, h.key);
    out += ',';
    json_bytes(out, "value", h.value);
    out += '}';
  }
  out += "],";
  json_bytes(out, "key", r.key);
  out += ',';
  json_bytes(out, "value", r.value);
  out += "}\n";
}

// --- set-up --------------------------------------------------------------------------

int check_options(const consume_args& a) {
  if (a.offset && !a.partition) return report(cmd, exit_usage, "--offset needs --partition");
  if (a.offset && a.from_beginning) return report(cmd, exit_usage, "--offset and --from-beginning exclude each other");
  if (a.partition && a.topic.empty()) return report(cmd, exit_usage, "--partition needs --topic");
  if (a.group && (a.partition || a.offset))
    return report(cmd, exit_usage, "--group assigns partitions itself: drop --partition and --offset");
  if (a.max_messages && *a.max_messages < 1) return report(cmd, exit_usage, "--max-messages must be at least 1");
  if (a.timeout_ms && *a.timeout_ms < 0) return report(cmd, exit_usage, "--timeout-ms must not be negative");
  return exit_ok;
}

// The partitions to assign without a group.
result<std::vector<topic_partition>> partitions_to_assign(broker& b, const consume_args& a) {
  std::vector<std::string> topics;
  if (!a.topic.empty()) {
    topics.push_back(a.topic);
  } else {
    std::regex re;
    try {
      re = std::regex(a.include, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return make_error(errc::invalid_regular_expression, fmt::format("--include '{}': {}", a.include, e.what()));
    }
    for (const auto& t : b.list_topics())
      if (std::regex_match(t, re)) topics.push_back(t);
    if (topics.empty())
      return make_error(errc::unknown_topic_or_partition, fmt::format("no topic matches --include '{}'", a.include));
  }
  std::vector<topic_partition> out;
  for (const auto& t : topics) {
    if (a.partition) {
      FRANZ_TRY(b.find_partition(t, *a.partition));
      out.push_back({t, *a.partition});
      continue;
    }
    FRANZ_ASSIGN_OR_RETURN(auto d, b.describe_topic(t));
    for (const auto& p : d.partitions) out.push_back({t, p.partition});
  }
  return out;
}

status seek_to_offset(consumer& c, const consume_args& a, const topic_partition& tp) {
  const std::string& o = *a.offset;
  if (o == "earliest") return c.seek_to_beginning({tp});
  if (o == "latest") return c.seek_to_end({tp});
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(o.data(), o.data() + o.size(), n);
  if (ec != std::errc{} || end != o.data() + o.size() || n < 0)
    return make_error(errc::invalid_config, fmt::format("--offset '{}': expected a number, earliest or latest", o));
  return c.seek(tp, offset{n});
}

// What has been printed and flushed, per partition: the next offset to read.
using positions = std::map<topic_partition, offset_and_metadata>;

}  // namespace

int run_consume(const context& ctx, const consume_args& a) {
  if (int rc = check_options(a); rc != exit_ok) return rc;
  auto fprops = parse_properties(cmd, "--property", a.property);
  if (!fprops) return exit_usage;
  auto fmt_cfg = formatter_config(*fprops);
  if (!fmt_cfg) return report(cmd, fmt_cfg.error());
  auto cprops = parse_properties(cmd, "--consumer-property", a.consumer_property);
  if (!cprops) return exit_usage;
  consumer_config cc;
  if (auto s = cc.apply(*cprops); !s.ok()) return report(cmd, s.error());
  cc.isolation = a.isolation_level == "read_uncommitted" ? isolation_level::read_uncommitted
                                                         : isolation_level::read_durable;
  cc.auto_offset_reset = a.from_beginning ? offset_reset::earliest : offset_reset::latest;
  cc.enable_auto_commit = false;  // commits cover printed records only (see the file comment)
  if (a.group) cc.group_id = *a.group;

  auto o = open_data_dir(ctx, cmd);
  if (!o.b) return o.rc;
  broker& b = *o.b;
  auto created = consumer::create(b, cc);
  if (!created) return report(cmd, created.error());
  consumer& c = **created;

  if (a.group) {
    if (!a.topic.empty()) {
      // Nothing else can create it while this process holds the data
      // directory, so waiting for it would wait forever.
      if (auto t = b.find_topic(a.topic); !t) return report(cmd, t.error());
    }
    auto s = a.topic.empty() ? c.subscribe_pattern(a.include) : c.subscribe({a.topic});
    if (!s.ok()) return report(cmd, s.error());
  } else {
    auto tps = partitions_to_assign(b, a);
    if (!tps) return report(cmd, tps.error());
    if (auto s = c.assign(*tps); !s.ok()) return report(cmd, s.error());
    if (a.offset) {
      if (auto s = seek_to_offset(c, a, tps->front()); !s.ok()) return report(cmd, s.error());
    }
  }

  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a closed stdout is a write error, handled below

  std::optional<progress_bar> bar;  // only when the end is known
  if (a.max_messages) bar.emplace("consume", static_cast<std::uint64_t>(*a.max_messages));
  positions pending, printed;
  std::int64_t count = 0;
  int rc = exit_ok;
  std::string out;
  const auto commit_every = std::chrono::milliseconds(cc.auto_commit_interval_ms);
  auto next_commit = std::chrono::steady_clock::now() + commit_every;
  auto last_record = std::chrono::steady_clock::now();
  auto commit = [&]() -> status {
    if (!a.group || printed.empty()) return {};
    return c.commit_sync(printed);
  };

  while (!stop_requested.load(std::memory_order_relaxed)) {
    if (a.max_messages && count >= *a.max_messages) break;
    const auto now = std::chrono::steady_clock::now();
    if (a.timeout_ms && now - last_record >= std::chrono::milliseconds(*a.timeout_ms)) break;
    // Short polls, so a signal (which only sets a flag) is seen quickly.
    auto wait = std::chrono::milliseconds(100);
    if (a.timeout_ms)
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                                last_record + std::chrono::milliseconds(*a.timeout_ms) - now));
    auto recs = c.poll(std::max(wait, std::chrono::milliseconds(0)));
    if (!recs) {
      rc = report(cmd, recs.error());
      break;
    }
    if (!recs->empty()) last_record = std::chrono::steady_clock::now();
    out.clear();
    for (const auto& r : *recs) {
      if (a.max_messages && count >= *a.max_messages) break;
      if (a.formatter == "json")
        format_json(out, r);
      else
        format_default(out, r, *fmt_cfg);
      pending[{std::string(r.topic), r.partition}] = {r.off + 1, ""};
      ++count;
    }
    if (!out.empty()) {
      if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
        // The reader went away (EPIPE): stop; commit only what it got.
        if (errno != EPIPE) rc = report(cmd, exit_failed, fmt::format("writing stdout: {}", std::strerror(errno)));
        break;
      }
      printed = pending;
      if (bar) bar->update(static_cast<std::uint64_t>(count));
    }
    if (a.group && std::chrono::steady_clock::now() >= next_commit) {
      if (auto s = commit(); !s.ok()) std::fprintf(stderr, "franz consume: commit: %s\n", s.error().to_string().c_str());
      next_commit = std::chrono::steady_clock::now() + commit_every;
    }
  }
  if (bar) bar->finish();
  if (auto s = commit(); !s.ok() && rc == exit_ok) rc = report(cmd, s.error());
  if (auto s = c.close(); !s.ok() && rc == exit_ok) rc = report(cmd, s.error());
  created->reset();
  if (auto s = b.close(); !s.ok() && rc == exit_ok) rc = report(cmd, s.error());
  std::fprintf(stderr, "Processed a total of %lld messages\n", static_cast<long long>(count));
  return rc;
}

}  // namespace franz::cli
