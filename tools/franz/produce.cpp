// franz produce (kafka-console-producer.sh): one record per stdin line.
//
// Line grammar, with the reader's properties (Kafka's LineMessageReader):
//   line    = [headers headers.delimiter] [key key.separator] value
//   headers = header *(headers.separator header)
//   header  = name headers.key.separator value
// headers only with parse.headers=true, key only with parse.key=true. A key,
// value or header value equal to null.marker is null.
//
// Records are sent as lines arrive (a pipe may stay open indefinitely). A
// malformed line stops the run: the lines before it are written (and
// counted), it and the lines after are not. With ignore.error=true a line
// without a key separator is written with a null key instead, and a header
// without a name separator gets a null value.
#include <atomic>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "cli.hpp"

namespace franz::cli {
namespace {

constexpr std::string_view cmd = "produce";

struct line_reader_config {
  bool parse_key = false, parse_headers = false, ignore_error = false;
  std::string key_separator = "\t", headers_delimiter = "\t", headers_separator = ",", headers_key_separator = ":";
  std::optional<std::string> null_marker;
};

// INVALID_CONFIG for an unknown key, an empty separator or a non-boolean flag.
result<line_reader_config> reader_config(const std::map<std::string, std::string>& props) {
  line_reader_config c;
  FRANZ_TRY(apply_properties("--property", props,
                             {.flags = {{"parse.key", &c.parse_key},
                                        {"parse.headers", &c.parse_headers},
                                        {"ignore.error", &c.ignore_error}},
                              .strings = {{"key.separator", &c.key_separator},
                                          {"headers.delimiter", &c.headers_delimiter},
                                          {"headers.separator", &c.headers_separator},
                                          {"headers.key.separator", &c.headers_key_separator}},
                              .optional_strings = {{"null.marker", &c.null_marker}}}));
  for (const auto* sep : {&c.key_separator, &c.headers_delimiter, &c.headers_separator, &c.headers_key_separator})
    if (sep->empty()) return make_error(errc::invalid_config, "--property: a separator must not be empty");
  return c;
}

// One parsed line: views into the line, plus the headers.
struct parsed_line {
  bytes_view key = null_bytes;
  bytes_view value = null_bytes;
  std::vector<record_header> headers;
};

class line_parser {
 public:
  explicit line_parser(line_reader_config c) : c_(std::move(c)) {}

  // Parses `line` (which must outlive out); an error message if malformed.
  std::optional<std::string> parse(std::string_view line, parsed_line& out) const {
    out = {};
    if (c_.parse_headers) {
      const auto d = line.find(c_.headers_delimiter);
      if (d == std::string_view::npos) {
        if (!c_.ignore_error) return fmt::format("no headers delimiter '{}' found (parse.headers=true)", shown(c_.headers_delimiter));
      } else {
        if (auto e = parse_headers(line.substr(0, d), out.headers)) return e;
        line.remove_prefix(d + c_.headers_delimiter.size());
      }
    }
    if (c_.parse_key) {
      const auto s = line.find(c_.key_separator);
      if (s == std::string_view::npos) {
        if (!c_.ignore_error) return fmt::format("no key separator '{}' found (parse.key=true)", shown(c_.key_separator));
      } else {
        out.key = nullable(line.substr(0, s));
        line.remove_prefix(s + c_.key_separator.size());
      }
    }
    out.value = nullable(line);
    return std::nullopt;
  }

 private:
  std::optional<std::string> parse_headers(std::string_view hs, std::vector<record_header>& out) const {
    while (!hs.empty()) {
      const auto end = hs.find(c_.headers_separator);
      const std::string_view h = hs.substr(0, end);
      const auto ks = h.find(c_.headers_key_separator);
      if (ks == 0) return fmt::format("header '{}' has an empty name", h);
      if (ks == std::string_view::npos) {
        if (!c_.ignore_error)
          return fmt::format("header '{}' has no name separator '{}'", h, shown(c_.headers_key_separator));
        out.push_back({h, null_bytes});
      } else {
        out.push_back({h.substr(0, ks), nullable(h.substr(ks + c_.headers_key_separator.size()))});
      }
      if (end == std::string_view::npos) break;
      hs.remove_prefix(end + c_.headers_separator.size());
    }
    return std::nullopt;
  }

  [[nodiscard]] bytes_view nullable(std::string_view s) const {
    return c_.null_marker && s == *c_.null_marker ? null_bytes : bytes_view(s);
  }
  static std::string shown(std::string_view sep) {
    std::string out;
    for (char ch : sep) out += ch == '\t' ? "\\t" : ch == '\n' ? "\\n" : std::string(1, ch);
    return out;
  }

  line_reader_config c_;
};

// Counts acknowledgements and reports each failed record on stderr (from
// the producer's I/O thread).
struct tally {
  std::atomic<std::int64_t> written{0};
  std::atomic<std::int64_t> failed{0};
  std::mutex mu;
  std::optional<error> first;

  void fail(std::int64_t line, const error& e) {
    failed.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard g(mu);
    std::fprintf(stderr, "franz produce: line %lld: %s\n", static_cast<long long>(line), e.to_string().c_str());
    if (!first) first = e;
  }
};

}  // namespace

int run_produce(const context& ctx, const produce_args& a) {
  auto props = parse_properties(cmd, "--property", a.property);
  if (!props) return exit_usage;
  auto rc_ = reader_config(*props);
  if (!rc_) return report(cmd, rc_.error());
  auto pprops = parse_properties(cmd, "--producer-property", a.producer_property);
  if (!pprops) return exit_usage;
  (*pprops)["acks"] = a.acks;
  (*pprops)["compression.type"] = a.compression;
  producer_config pc;
  if (auto s = pc.apply(*pprops); !s.ok()) return report(cmd, s.error());

  auto o = open_data_dir(ctx, cmd);
  if (!o.b) return o.rc;
  broker& b = *o.b;
  // A missing topic or partition is reported before stdin is read.
  auto t = b.find_topic(a.topic);
  if (!t) return report(cmd, t.error());
  if (a.partition) {
    if (auto p = b.find_partition(a.topic, *a.partition); !p) return report(cmd, p.error());
  }
  auto prod = producer::create(b, pc);
  if (!prod) return report(cmd, prod.error());

  const line_parser parser(*rc_);
  tally tl;
  int rc = exit_ok;
  std::ios::sync_with_stdio(false);
  std::string line;
  parsed_line parsed;
  for (std::int64_t n = 1; std::getline(std::cin, line); ++n) {
    if (auto bad = parser.parse(line, parsed)) {
      rc = report(cmd, exit_usage, fmt::format("line {}: {}; it and the lines after it were not written", n, *bad));
      break;
    }
    producer_record r{.topic = a.topic, .partition = a.partition, .key = parsed.key, .value = parsed.value,
                      .headers = parsed.headers};
    auto s = (*prod)->send(r, [&tl, n](const result<record_metadata>& m) {
      if (m)
        tl.written.fetch_add(1, std::memory_order_relaxed);
      else
        tl.fail(n, m.error());
    });
    if (!s.ok()) tl.fail(n, s.error());
  }
  if (auto s = (*prod)->close(); !s.ok() && rc == exit_ok) rc = report(cmd, s.error());
  if (auto s = b.close(); !s.ok() && rc == exit_ok) rc = report(cmd, s.error());
  const auto written = tl.written.load();
  std::fprintf(stderr, "franz produce: %lld record%s written to %s", static_cast<long long>(written),
               written == 1 ? "" : "s", a.topic.c_str());
  if (tl.failed.load() > 0) std::fprintf(stderr, ", %lld failed", static_cast<long long>(tl.failed.load()));
  std::fprintf(stderr, "\n");
  if (rc == exit_ok && tl.first) rc = exit_code_of(*tl.first);
  return rc;
}

}  // namespace franz::cli
