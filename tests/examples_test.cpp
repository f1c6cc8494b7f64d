// The example programs (examples/, described in examples/README.md), run as
// real processes the way a reader runs them (process_util.hpp), each on a
// fresh data directory and with short runs (the suite also runs under the
// sanitizers). Each case pins the behaviour the example exists to show,
// through the output lines that prove it, so an example that still exits 0
// but no longer shows it fails here.
#include <regex>
#include <string>
#include <vector>

#include "process_util.hpp"

using namespace franz;
using namespace franz::test;

namespace {

// Runs examples/NAME with args; shows stdout and stderr if an assertion
// about it fails.
run_result example(const std::string& name, std::vector<std::string> args) {
  args.insert(args.begin(), examples_dir + "/" + name);
  return run(std::move(args));
}

#define REQUIRE_EXIT_0(res)                                   \
  do {                                                        \
    const auto& r_ = (res);                                   \
    INFO("stdout:\n" << r_.out << "\nstderr:\n" << r_.err);   \
    REQUIRE(r_.rc == 0);                                      \
  } while (0)

// The first line of out matching re (whole line), with its groups; fails
// the test if there is none.
std::smatch line_matching(const std::string& out, const std::string& re, std::string& storage) {
  const std::regex rx(re);
  for (const auto& line : lines_of(out)) {
    std::smatch m;
    storage = line;
    if (std::regex_match(storage, m, rx)) return m;
  }
  INFO("no line matches /" << re << "/ in:\n" << out);
  FAIL();
  return {};
}

long count_lines_matching(const std::string& out, const std::string& re) {
  const std::regex rx(re);
  long n = 0;
  for (const auto& line : lines_of(out))
    if (std::regex_match(line, rx)) ++n;
  return n;
}

}  // namespace

TEST_CASE("log_demo: a reopened log continues at the offsets where the last run stopped", "[examples]") {
  temp_dir tmp;
  const std::string log_dir = tmp.sub("demo") + "/demo-0";  // the parent is created by the example

  auto first = example("log_demo", {log_dir, "5"});
  REQUIRE_EXIT_0(first);
  REQUIRE_THAT(first.out, Catch::Contains("log start 0, log end 0, recovery clean"));
  REQUIRE_THAT(first.out, Catch::Contains("produced offsets 0..4 (durable up to 5)"));
  REQUIRE(count_lines_matching(first.out, "consumed offset [0-4]  key=user-[0-2]  value=event #[0-4]") == 5);
  REQUIRE_THAT(first.out, Catch::Contains("demo ok: 5 records produced and consumed"));

  auto second = example("log_demo", {log_dir, "3"});
  REQUIRE_EXIT_0(second);
  REQUIRE_THAT(second.out, Catch::Contains("log start 0, log end 5, recovery clean"));
  REQUIRE_THAT(second.out, Catch::Contains("produced offsets 5..7 (durable up to 8)"));
  REQUIRE(count_lines_matching(second.out, "consumed offset [5-7]  key=user-[0-2]  value=event #[5-7]") == 3);
}

TEST_CASE("producer and consumer: what the producer acknowledged, the consumer reads back per partition",
          "[examples]") {
  temp_dir tmp;
  const std::string dir = tmp.sub("data");

  auto sent = example("producer", {dir, "300"});
  REQUIRE_EXIT_0(sent);
  std::string l1, l2;
  auto produced = line_matching(sent.out, "300 records acknowledged durable, 0 failed;(.*)", l1);
  const std::string per_partition = produced[1].str();
  // Keys user-0..3 over 3 partitions: murmur2 spreads them, not all on one.
  REQUIRE(count_lines_matching(sent.out, "sent user-[0-3] -> demo-[0-2] at offset [0-9]+") == 5);
  REQUIRE(std::regex_search(per_partition, std::regex(" partition [0-2]: [0-9]+ partition [0-2]: [0-9]+")));

  auto read = example("consumer", {dir, "demo", "1000"});
  REQUIRE_EXIT_0(read);
  auto consumed = line_matching(read.out, "consumed 300 records;(.*)", l2);
  REQUIRE(consumed[1].str() == per_partition);
  REQUIRE(count_lines_matching(read.out, "demo-[0-2]@[0-9]+ key=user-[0-3] value=event [0-9]+ \\[source=example\\]") ==
          5);

  // The data directory reopens where it stopped: a second producer run
  // appends, and the consumer reads both runs.
  REQUIRE_EXIT_0(example("producer", {dir, "100"}));
  auto again = example("consumer", {dir, "demo", "1000"});
  REQUIRE_EXIT_0(again);
  REQUIRE_THAT(again.out, Catch::Contains("consumed 400 records;"));
}

TEST_CASE("group_workers: workers join, stall and leave; rebalances revoke, lose and commit; every record is "
          "processed at least once",
          "[examples]") {
  temp_dir tmp;
  const std::string dir = tmp.sub("data");

  // Eager (range) with a 1.2 s stall of w1, longer than max.poll.interval.ms.
  auto r = example("group_workers", {dir, "1200", "1200", "range"});
  REQUIRE_EXIT_0(r);
  const auto& out = r.out;
  // Joins: every worker is assigned partitions; under eager rebalancing w1
  // gives up all six (committing what it processed) when w2 joins.
  for (const char* w : {"w1", "w2", "w3"})
    REQUIRE(count_lines_matching(out, "\\[ *[0-9.]+s\\] " + std::string(w) + ": assigned .*work-[0-5]@.*") >= 1);
  REQUIRE(count_lines_matching(out, ".* w1: revoked work-0 work-1 work-2 work-3 work-4 work-5, committed "
                                    "(work-[0-5]@[0-9]+ ?){6}") >= 1);
  // w2 leaves mid-run: its close() revokes (and commits) and leaves.
  REQUIRE(count_lines_matching(out, ".*main: w2 leaves") == 1);
  REQUIRE(count_lines_matching(out, ".* w2: closed its consumer and left the group after processing [0-9]+ records") ==
          1);
  // The stall: w1 is removed, its commit is refused, its partitions are
  // lost and it rejoins as a new member.
  REQUIRE(count_lines_matching(out, ".* w1: stalls for 1200 ms .*") == 1);
  REQUIRE(count_lines_matching(out, ".* w1: commit after the stall failed: UNKNOWN_MEMBER_ID: "
                                    ".*max.poll.interval.ms.*") == 1);
  REQUIRE(count_lines_matching(out, ".* w1: lost (work-[0-5] ?)+ \\(removed from the group.*") >= 1);
  REQUIRE(count_lines_matching(out, ".* w1: assigned .*member w1-([2-9]|[1-9][0-9]+)\\)") >= 1);
  // The summary: per-worker counts, the group table, and the check, with
  // the stalled batch redelivered (at-least-once: again, never lost).
  REQUIRE(count_lines_matching(out, "w[1-3]: processed [0-9]+ records") == 3);
  REQUIRE(count_lines_matching(out, "group workers while running: state Stable, generation [0-9]+, protocol eager, "
                                    "assignor range, 2 member\\(s\\)") == 1);
  REQUIRE(count_lines_matching(out, "  workers  work +[0-5] +([0-9]+) +\\1 +0  -") == 6);
  std::string line;
  auto check = line_matching(out, "check OK: all 1200 records processed at least once \\(([0-9]+) redelivered\\), "
                                  "commits at the log end of all 6 partitions", line);
  REQUIRE(std::stol(check[1].str()) > 0);

  // Cooperative: the same run without the stall, under the cooperative
  // protocol: a join revokes only the partitions that move (w1 gives up
  // three of its six when w2 joins), never everything.
  auto coop = example("group_workers", {dir, "600", "0", "cooperative-sticky"});
  REQUIRE_EXIT_0(coop);
  REQUIRE(count_lines_matching(coop.out, ".* protocol cooperative, assignor cooperative-sticky, 2 member\\(s\\)") == 1);
  REQUIRE(count_lines_matching(coop.out, ".* w1: revoked work-[0-5] work-[0-5] work-[0-5], committed .*") >= 1);
  REQUIRE(count_lines_matching(coop.out, ".* w[1-3]: revoked (work-[0-5] ){5}work-[0-5].*") == 0);
  REQUIRE(count_lines_matching(coop.out, "check OK: all 600 records processed at least once .*") == 1);
}

TEST_CASE("telemetry_server: a tick-driven loop appends, tick() enforces retention, the shipper ships everything",
          "[examples]") {
  temp_dir tmp;
  const std::string dir = tmp.sub("data");

  auto r = example("telemetry_server", {dir, "1.5", "20"});
  REQUIRE_EXIT_0(r);
  const auto& out = r.out;
  REQUIRE_THAT(out, Catch::Contains("segment.bytes 32768, retention.bytes 262144"));
  // Shipments, by count (the fights) and by age.
  REQUIRE(count_lines_matching(out, "shipment [1-3]: [0-9]+ events, [0-9]+ bytes, oldest event [0-9]+ ms old "
                                    "\\(shipped by (count|age)\\)") == 3);
  std::string l1, l2, l3;
  auto loop = line_matching(out, "loop: ([0-9]+) ticks in [0-9.]+ s .*broker->tick\\(\\) median .*", l1);
  REQUIRE(std::stol(loop[1].str()) > 100);
  auto totals = line_matching(out, "appended ([0-9]+) events \\([0-9]+/s\\); shipped ([0-9]+) events \\([0-9]+/s\\) in "
                                   "([0-9]+) shipments .*", l2);
  REQUIRE(totals[1].str() == totals[2].str());
  REQUIRE(std::stol(totals[3].str()) >= 2);
  // Retention ran in the loop's tick(): the logs start past 0, and keep
  // about retention.bytes.
  long deleted = 0;
  const std::regex kept("retention: p[01] keeps offsets ([0-9]+)\\.\\.[0-9]+ in [0-9]+ segments, ([0-9]+) KiB "
                        "\\(retention.bytes 256 KiB\\); tick\\(\\) deleted \\1 older events");
  for (const auto& line : lines_of(out)) {
    std::smatch m;
    if (!std::regex_match(line, m, kept)) continue;
    deleted += std::stol(m[1].str());
    REQUIRE(std::stol(m[2].str()) <= 256 + 2 * 32);  // retention.bytes + the segments since the last tick
  }
  REQUIRE(deleted > 0);
  auto check = line_matching(out, "check OK: all ([0-9]+) events appended before shutdown were shipped, none lost", l3);
  REQUIRE(check[1].str() == totals[1].str());
}

TEST_CASE("replay_by_time: offsets_for_times finds each partition's first offset at or after T, and the replay "
          "starts there",
          "[examples]") {
  temp_dir tmp;
  const std::string dir = tmp.sub("data");

  // The simulated hour: partition p has a reading every 2 + p seconds,
  // starting 137 * p ms after "an hour ago"; 15 minutes ago is offset 1350
  // of partition 0 (exactly on a reading), 900 of partition 1 and 675 of
  // partition 2.
  auto r = example("replay_by_time", {dir, "15"});
  REQUIRE_EXIT_0(r);
  const auto& out = r.out;
  REQUIRE_THAT(out, Catch::Contains("wrote 3901 readings to readings (3 partitions)"));
  REQUIRE(count_lines_matching(out, "partition 0: first offset at or after .* is 1350 .*log 0\\.\\.1801: 451 records "
                                    "to replay") == 1);
  REQUIRE(count_lines_matching(out, "partition 1: first offset at or after .* is 900 .*log 0\\.\\.1200: 300 records to "
                                    "replay") == 1);
  REQUIRE(count_lines_matching(out, "partition 2: first offset at or after .* is 675 .*log 0\\.\\.900: 225 records to "
                                    "replay") == 1);
  // The first two replayed records of each partition, from the start offsets.
  for (const char* first : {"readings-0@1350 ", "readings-1@900 ", "readings-2@675 "})
    REQUIRE(count_lines_matching(out, "  replay " + std::string(first) + ".*") == 1);
  REQUIRE_THAT(out, Catch::Contains("replayed 976 records; partition 0: 451 partition 1: 300 partition 2: 225"));
  REQUIRE_THAT(out, Catch::Contains("check OK: no replayed record is older than the requested time; the record "
                                    "before each start offset is older (3 checked)"));

  // Further back than the hour: everything, from the log starts.
  auto all = example("replay_by_time", {dir, "90"});
  REQUIRE_EXIT_0(all);
  REQUIRE_THAT(all.out, Catch::Contains("replayed 3901 records;"));

  // An existing topic (the producer example's), read without writing.
  REQUIRE_EXIT_0(example("producer", {tmp.sub("demo"), "40"}));
  auto existing = example("replay_by_time", {tmp.sub("demo"), "5", "demo"});
  REQUIRE_EXIT_0(existing);
  REQUIRE_THAT(existing.out, Catch::Contains("replayed 40 records;"));
  REQUIRE_THAT(existing.out, Catch::Contains("check OK: replayed every record from the start offsets"));
  REQUIRE_THAT(existing.out, !Catch::Contains("wrote"));
}
