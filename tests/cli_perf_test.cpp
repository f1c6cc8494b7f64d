// `franz perf produce` / `franz perf consume`, run as real processes: the
// output formats, that the records really land in the topic, throttling,
// compression, the progress bar (pipe vs pseudo-terminal) and the exit
// code of every bad input.
//
// Topics are created with the library and the broker is closed before the
// franz process runs (an open broker locks the data directory). Runs stay
// small: the suite also runs under ASan and TSan.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "process_util.hpp"

namespace {

using namespace franz;
using namespace franz::test;

constexpr std::int64_t n_records = 20000;

void create_topic(const std::string& dir, const std::string& topic, std::int32_t partitions,
                  const std::map<std::string, std::string>& config = {}) {
  auto b = open_broker({.data_dir = dir, .background_maintenance = false});
  REQUIRE_OK(b->create_topic(topic, partitions, config));
}

run_result perf(const temp_dir& d, std::vector<std::string> args) {
  args.insert(args.begin(), "perf");
  return franz::test::franz(d.path(), std::move(args));
}

// What a topic holds, read back through the library (a consumer verifies
// every batch's checksum on the way).
struct contents {
  std::int64_t records = 0;
  std::uint64_t size_bytes = 0;                    // on disk, all partitions
  std::map<std::size_t, std::int64_t> value_sizes;  // size -> records
  std::int64_t non_null_keys = 0;
  std::int64_t non_letter_values = 0;  // values with a byte outside A-Z
};

contents read_topic(const std::string& dir, const std::string& topic) {
  auto b = open_broker({.data_dir = dir, .background_maintenance = false});
  auto desc = b->describe_topic(topic);
  REQUIRE_OK(desc);
  contents c;
  std::int64_t expected = 0;
  std::vector<topic_partition> tps;
  for (const auto& p : desc->partitions) {
    expected += p.log_end.value() - p.log_start.value();
    c.size_bytes += p.size_bytes;
    tps.push_back({topic, p.partition});
  }
  auto cons = consumer::create(*b, {.auto_offset_reset = offset_reset::earliest});
  REQUIRE_OK(cons);
  REQUIRE_OK((*cons)->assign(tps));
  while (c.records < expected) {
    auto recs = (*cons)->poll(std::chrono::seconds(5));
    REQUIRE_OK(recs);
    REQUIRE(!recs->empty());
    for (const auto& r : *recs) {
      ++c.records;
      ++c.value_sizes[r.value.size()];
      if (r.key.data() != nullptr) ++c.non_null_keys;
      for (const char ch : r.value)
        if (ch < 'A' || ch > 'Z') {
          ++c.non_letter_values;
          break;
        }
    }
  }
  REQUIRE_OK((*cons)->close());
  return c;
}

// The producer's summary line, parsed.
struct summary {
  std::int64_t records = 0;
  double rate = 0, mb_sec = 0, avg = 0, max = 0, p50 = 0, p95 = 0, p99 = 0, p999 = 0;
};

const std::regex summary_re(
    R"(^(\d+) records sent, ([0-9.]+) records/sec \(([0-9.]+) MB/sec\), ([0-9]+\.[0-9]{3}) ms avg latency, )"
    R"(([0-9]+\.[0-9]{3}) ms max latency, ([0-9]+\.[0-9]{3}) ms 50th, ([0-9]+\.[0-9]{3}) ms 95th, )"
    R"(([0-9]+\.[0-9]{3}) ms 99th, ([0-9]+\.[0-9]{3}) ms 99\.9th\.$)");
const std::regex window_re(
    R"(^(\d+) records sent, ([0-9.]+) records/sec \(([0-9.]+) MB/sec\), ([0-9]+\.[0-9]{3}) ms avg latency, )"
    R"(([0-9]+\.[0-9]{3}) ms max latency\.$)");

// The one summary line of a produce run's stdout (the last line).
summary parse_summary(const std::string& out) {
  const auto ls = lines_of(out);
  INFO(out);
  REQUIRE(!ls.empty());
  std::smatch m;
  REQUIRE(std::regex_match(ls.back(), m, summary_re));
  summary s;
  s.records = std::stoll(m[1]);
  s.rate = std::stod(m[2]);
  s.mb_sec = std::stod(m[3]);
  s.avg = std::stod(m[4]);
  s.max = std::stod(m[5]);
  s.p50 = std::stod(m[6]);
  s.p95 = std::stod(m[7]);
  s.p99 = std::stod(m[8]);
  s.p999 = std::stod(m[9]);
  return s;
}

const char* const consume_header =
    "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, "
    "fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";

// The values line under the consumer's header, split at ", ".
std::vector<std::string> consume_values(const std::string& out) {
  const auto ls = lines_of(out);
  INFO(out);
  std::size_t i = 0;
  while (i < ls.size() && ls[i] != consume_header) ++i;
  REQUIRE(i + 1 < ls.size());
  std::vector<std::string> v;
  std::string_view s = ls[i + 1];
  for (;;) {
    const auto comma = s.find(", ");
    v.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 2);
  }
  REQUIRE(v.size() == 10);
  return v;
}

// An error of one line, "franz perf: ...", that mentions `needle`, and
// nothing on stdout.
void require_one_line_error(const run_result& r, int rc, const std::string& needle) {
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.rc == rc);
  CHECK(r.out.empty());
  REQUIRE(lines_of(r.err).size() == 1);
  CHECK(r.err.rfind("franz perf: ", 0) == 0);
  CHECK(r.err.find(needle) != std::string::npos);
}

std::string sh_quote(const std::string& s) {
  std::string q = "'";
  for (const char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

TEST_CASE("perf produce: prints the summary with the four percentiles, exits 0, and the topic holds every record",
          "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "t", 2);
  auto r = perf(d, {"produce", "--topic", "t", "--num-records", std::to_string(n_records), "--record-size", "100"});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.err.empty());
  const summary s = parse_summary(r.out);
  CHECK(s.records == n_records);
  CHECK(s.rate > 0);
  CHECK(s.mb_sec > 0);
  CHECK(s.p50 <= s.p95);
  CHECK(s.p95 <= s.p99);
  CHECK(s.p99 <= s.p999);
  CHECK(s.p999 <= s.max);
  CHECK(s.avg <= s.max);

  const contents c = read_topic(d.path(), "t");
  CHECK(c.records == n_records);
  CHECK(c.value_sizes == std::map<std::size_t, std::int64_t>{{100, n_records}});
  CHECK(c.non_null_keys == 0);
  CHECK(c.non_letter_values == 0);
}

TEST_CASE("perf produce --record-size 0: empty values are records too", "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "t", 1);
  auto r = perf(d, {"produce", "--topic", "t", "--num-records", "500", "--record-size", "0"});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(parse_summary(r.out).records == 500);
  const contents c = read_topic(d.path(), "t");
  CHECK(c.value_sizes == std::map<std::size_t, std::int64_t>{{0, 500}});
}

TEST_CASE("perf produce --throughput: 2000 records at 4000/s take at least 0.4 s", "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "t", 1);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = perf(d, {"produce", "--topic", "t", "--num-records", "2000", "--throughput", "4000"});
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(r.err);
  REQUIRE(r.rc == 0);
  // Lower bounds only: a slow machine may take longer, never shorter.
  CHECK(wall >= 0.4);
  // The last record is due 1999/4000 s after the first, so the measured
  // rate cannot exceed ~4000/s (process start-up is outside this figure).
  const summary s = parse_summary(r.out);
  CHECK(s.records == 2000);
  CHECK(s.rate <= 4100);
}

TEST_CASE("perf produce --reporting-interval: a run longer than the interval prints window lines first",
          "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "t", 1);
  // Throttled, the sends span >= 0.5 s: at least one 100 ms window closes
  // at a send (about 4 on an idle machine; a descheduled sender catches up
  // in a burst, so more are not guaranteed).
  auto r = perf(d, {"produce", "--topic", "t", "--num-records", "2000", "--throughput", "4000",
                    "--reporting-interval", "100"});
  INFO(r.out << r.err);
  REQUIRE(r.rc == 0);
  const auto ls = lines_of(r.out);
  REQUIRE(ls.size() >= 2);
  std::int64_t windowed = 0;
  for (std::size_t i = 0; i + 1 < ls.size(); ++i) {
    std::smatch m;
    INFO(ls[i]);
    REQUIRE(std::regex_match(ls[i], m, window_re));
    windowed += std::stoll(m[1]);
  }
  CHECK(windowed <= 2000);
  CHECK(parse_summary(r.out).records == 2000);
}

TEST_CASE("perf produce --compression zstd: batches are compressed (the log is far smaller than with none)",
          "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "plain", 1);
  create_topic(d.path(), "packed", 1);
  auto r1 = perf(d, {"produce", "--topic", "plain", "--num-records", std::to_string(n_records)});
  auto r2 = perf(d, {"produce", "--topic", "packed", "--num-records", std::to_string(n_records), "--compression",
                     "zstd"});
  INFO(r1.err << r2.err);
  REQUIRE(r1.rc == 0);
  REQUIRE(r2.rc == 0);
  CHECK(parse_summary(r2.out).records == n_records);
  const contents plain = read_topic(d.path(), "plain");
  const contents packed = read_topic(d.path(), "packed");
  // The payload repeats in every record, so zstd shrinks a batch many times.
  CHECK(packed.records == n_records);
  CHECK(packed.value_sizes == std::map<std::size_t, std::int64_t>{{100, n_records}});
  CHECK(packed.non_letter_values == 0);
  CHECK(packed.size_bytes * 4 < plain.size_bytes);
}

TEST_CASE("perf produce --acks 0: fire and forget still writes every record", "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "t", 1);
  auto r = perf(d, {"produce", "--topic", "t", "--num-records", "2000", "--acks", "0"});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(parse_summary(r.out).records == 2000);
  CHECK(read_topic(d.path(), "t").records == 2000);
}

TEST_CASE("perf consume: reads back what perf produce wrote, data.consumed.in.nMsg = N", "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "t", 3);
  auto p = perf(d, {"produce", "--topic", "t", "--num-records", std::to_string(n_records)});
  INFO(p.err);
  REQUIRE(p.rc == 0);
  auto r = perf(d, {"consume", "--topic", "t", "--num-records", std::to_string(n_records)});
  INFO(r.out << r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.err.empty());
  const auto v = consume_values(r.out);
  const std::regex time_re(R"(^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}:\d{3}$)");
  CHECK(std::regex_match(v[0], time_re));
  CHECK(std::regex_match(v[1], time_re));
  CHECK(v[0] <= v[1]);
  CHECK(v[2] == "1.9073");  // 20000 * 100 bytes in MiB
  CHECK(v[4] == std::to_string(n_records));
  CHECK(v[6] == "0");  // no group: no rebalance
  const auto ls = lines_of(r.out);
  REQUIRE(!ls.empty());
  CHECK(std::regex_match(ls.back(), std::regex(R"(^poll latency, over the [1-9]\d* polls that returned records: )"
                                               R"([0-9.]+ ms avg, [0-9.]+ ms max, [0-9.]+ ms 50th, [0-9.]+ ms 95th, )"
                                               R"([0-9.]+ ms 99th, [0-9.]+ ms 99\.9th\.$)")));
}

TEST_CASE("perf consume --num-records below what the topic holds: counts exactly N, not the whole last poll",
          "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "t", 1);
  REQUIRE(perf(d, {"produce", "--topic", "t", "--num-records", "1000"}).rc == 0);
  // A poll returns up to max.poll.records = 500.
  auto r = perf(d, {"consume", "--topic", "t", "--num-records", "300"});
  INFO(r.out << r.err);
  REQUIRE(r.rc == 0);
  const auto v = consume_values(r.out);
  CHECK(v[4] == "300");
  CHECK(v[2] == "0.0286");  // 300 * 100 bytes in MiB
}

TEST_CASE("perf consume: fewer records than --num-records exits 1 after --timeout, naming how many arrived",
          "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "t", 1);
  REQUIRE(perf(d, {"produce", "--topic", "t", "--num-records", "100"}).rc == 0);
  auto r = perf(d, {"consume", "--topic", "t", "--num-records", "200", "--timeout", "300"});
  INFO(r.out << r.err);
  CHECK(r.rc == 1);
  CHECK(consume_values(r.out)[4] == "100");  // the summary of what did arrive
  CHECK(lines_of(r.err).size() == 1);
  CHECK(r.err.find("only 100 of 200 records") != std::string::npos);
}

TEST_CASE("perf consume --group: reads as a group member and commits, so a second run finds nothing",
          "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "t", 2);
  REQUIRE(perf(d, {"produce", "--topic", "t", "--num-records", "1000"}).rc == 0);
  auto r1 = perf(d, {"consume", "--topic", "t", "--num-records", "1000", "--group", "g"});
  INFO(r1.out << r1.err);
  REQUIRE(r1.rc == 0);
  CHECK(consume_values(r1.out)[4] == "1000");
  // The group committed its position on close: nothing is left for it.
  auto r2 = perf(d, {"consume", "--topic", "t", "--num-records", "1", "--group", "g", "--timeout", "200"});
  INFO(r2.out << r2.err);
  CHECK(r2.rc == 1);
  CHECK(r2.err.find("only 0 of 1 records") != std::string::npos);
  // Without the group, everything is there from the log start.
  auto r3 = perf(d, {"consume", "--topic", "t", "--num-records", "1000"});
  CHECK(r3.rc == 0);
}

TEST_CASE("perf progress bar: none under a pipe, drawn under a pseudo-terminal", "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "t", 1);
  const std::string n = std::to_string(n_records);
  auto piped = perf(d, {"produce", "--topic", "t", "--num-records", n});
  INFO(piped.err);
  REQUIRE(piped.rc == 0);
  CHECK(piped.err.empty());  // no bar, no escape sequences
  CHECK(piped.out.find('\r') == std::string::npos);
  auto piped_c = perf(d, {"consume", "--topic", "t", "--num-records", n});
  REQUIRE(piped_c.rc == 0);
  CHECK(piped_c.err.empty());
  CHECK(piped_c.out.find('\r') == std::string::npos);

  if (::access("/usr/bin/script", X_OK) != 0) {
    WARN("/usr/bin/script (util-linux) is missing: the pseudo-terminal half is skipped");
    return;
  }
  // script runs the command on a pty and copies what the pty saw to its
  // stdout: both of franz's streams, the bar included.
  auto under_pty = [&](const std::string& mode) {
    const std::string line = sh_quote(franz_cli) + " --data-dir " + sh_quote(d.path()) + " perf " + mode +
                             " --topic t --num-records " + n;
    return run({"/usr/bin/script", "-qec", line, "/dev/null"});
  };
  for (const std::string mode : {"produce", "consume"}) {
    auto r = under_pty(mode);
    INFO(mode << ": " << r.out << r.err);
    REQUIRE(r.rc == 0);
    CHECK(r.out.find("\r" + mode + " [") != std::string::npos);
    CHECK(r.out.find(n + "/" + n) != std::string::npos);  // drawn complete before it is erased
    CHECK(r.out.find("\x1b[K") != std::string::npos);
  }
}

// --- bad input --------------------------------------------------------------------

TEST_CASE("perf --num-records 0: usage error (exit 2), checked before the data directory", "[cli][perf]") {
  temp_dir d;
  require_one_line_error(perf(d, {"produce", "--topic", "t", "--num-records", "0"}), 2, "--num-records");
  require_one_line_error(perf(d, {"consume", "--topic", "t", "--num-records", "-5"}), 2, "--num-records");
  // Argument errors come first: this data directory does not exist.
  auto r = franz::test::franz(d.sub("missing"), {"perf", "produce", "--topic", "t", "--num-records", "0"});
  CHECK(r.rc == 2);
}

TEST_CASE("perf on an unknown topic: exit 3, suggests `franz topics --create`, creates nothing", "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "t", 1);
  require_one_line_error(perf(d, {"produce", "--topic", "nope", "--num-records", "10"}), 3, "franz topics --create");
  require_one_line_error(perf(d, {"consume", "--topic", "nope", "--num-records", "10"}), 3, "'nope'");
  auto b = open_broker({.data_dir = d.path(), .background_maintenance = false});
  CHECK(b->list_topics() == std::vector<std::string>{"t"});
}

TEST_CASE("perf on a missing data directory: exit 5", "[cli][perf]") {
  temp_dir d;
  auto r = franz::test::franz(d.sub("missing"), {"perf", "produce", "--topic", "t", "--num-records", "10"});
  CHECK(r.rc == 5);
  CHECK(lines_of(r.err).size() == 1);
}

TEST_CASE("perf produce --producer-props with an unknown key or a bad value: exit 2 naming it", "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "t", 1);
  require_one_line_error(perf(d, {"produce", "--topic", "t", "--num-records", "10", "--producer-props", "bogus.key=1"}),
                         2, "bogus.key");
  require_one_line_error(
      perf(d, {"produce", "--topic", "t", "--num-records", "10", "--producer-props", "linger.ms=soon"}), 2,
      "linger.ms");
  require_one_line_error(perf(d, {"produce", "--topic", "t", "--num-records", "10", "--producer-props", "acks"}), 2,
                         "expected key=value");
  CHECK(read_topic(d.path(), "t").records == 0);
}

TEST_CASE("perf consume --consumer-props with an unknown key: exit 2 naming it", "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "t", 1);
  require_one_line_error(perf(d, {"consume", "--topic", "t", "--num-records", "10", "--consumer-props", "nope=1"}),
                         2, "nope");
}

TEST_CASE("perf produce --throughput 0 or below -1: exit 2", "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "t", 1);
  require_one_line_error(perf(d, {"produce", "--topic", "t", "--num-records", "10", "--throughput", "0"}), 2,
                         "--throughput");
  require_one_line_error(perf(d, {"produce", "--topic", "t", "--num-records", "10", "--throughput", "-2"}), 2,
                         "--throughput");
  CHECK(read_topic(d.path(), "t").records == 0);
}

TEST_CASE("perf produce --record-size negative, above max.request.size or above the topic's max.message.bytes: exit 2",
          "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "t", 1, {{"max.message.bytes", "1000"}});
  require_one_line_error(perf(d, {"produce", "--topic", "t", "--num-records", "10", "--record-size", "-1"}), 2,
                         "--record-size");
  require_one_line_error(perf(d, {"produce", "--topic", "t", "--num-records", "10", "--record-size", "2000000"}), 2,
                         "max.request.size");
  // The topic's limit is the library's check (RECORD_TOO_LARGE); the
  // summary of the zero records sent comes first.
  auto r = perf(d, {"produce", "--topic", "t", "--num-records", "10", "--record-size", "2000"});
  INFO(r.out << r.err);
  CHECK(r.rc == 2);
  CHECK(lines_of(r.err).size() == 1);
  CHECK(r.err.find("RECORD_TOO_LARGE") != std::string::npos);
  CHECK(parse_summary(r.out).records == 0);
}

TEST_CASE("perf consume --timeout negative or --reporting-interval 0: exit 2", "[cli][perf]") {
  temp_dir d;
  create_topic(d.path(), "t", 1);
  require_one_line_error(perf(d, {"consume", "--topic", "t", "--num-records", "10", "--timeout", "-1"}), 2,
                         "--timeout");
  require_one_line_error(perf(d, {"produce", "--topic", "t", "--num-records", "10", "--reporting-interval", "0"}), 2,
                         "--reporting-interval");
}

TEST_CASE("perf produce --help and perf consume --help: exit 0 and list the options", "[cli][perf]") {
  temp_dir d;
  auto p = perf(d, {"produce", "--help"});
  CHECK(p.rc == 0);
  CHECK(p.out.find("--num-records") != std::string::npos);
  CHECK(p.out.find("--throughput") != std::string::npos);
  auto c = perf(d, {"consume", "--help"});
  CHECK(c.rc == 0);
  CHECK(c.out.find("--num-records") != std::string::npos);
  CHECK(c.out.find("--group") != std::string::npos);
}
