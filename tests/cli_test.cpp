// The franz command as a user runs it: real processes, real stdin and
// stdout (process_util.hpp). topics, produce, consume, groups,
// delete-records, the data directory, exit codes and one-line errors.
// dump and perf have their own files.
#include <sys/stat.h>
#include <unistd.h>

#include <regex>

#include "process_util.hpp"

using namespace franz;
using namespace franz::test;

namespace {

// Exit codes, as documented in doc/cli.md.
constexpr int ok = 0, failed = 1, usage = 2, not_found = 3, data_dir = 5;

// The exit code, with stdout and stderr shown if an assertion fails.
#define REQUIRE_RC(res, code)                                   \
  do {                                                          \
    const auto& r_ = (res);                                     \
    INFO("stdout: " << r_.out << "\nstderr: " << r_.err);       \
    REQUIRE(r_.rc == (code));                                   \
  } while (0)

// A bad-input error: the code, and exactly one line on stderr naming it.
#define REQUIRE_ONE_LINE_ERROR(res, code, needle)              \
  do {                                                         \
    const auto& e_ = (res);                                    \
    REQUIRE_RC(e_, code);                                      \
    REQUIRE(lines_of(e_.err).size() == 1);                     \
    REQUIRE_THAT(e_.err, Catch::Contains(needle));             \
  } while (0)

struct cli_dir {
  temp_dir tmp;
  std::string dir = tmp.sub("data");

  run_result operator()(std::vector<std::string> args, std::string_view in = {}) const {
    return ::franz::test::franz(dir, std::move(args), in);
  }
  void create(const std::string& topic, int partitions = 1) const {
    REQUIRE_RC((*this)({"topics", "--create", "--topic", topic, "--partitions", std::to_string(partitions)}), ok);
  }
};

// The committed offset and lag columns of `groups --describe` for one
// partition: "CURRENT LOG-END LAG".
std::string describe_row(const cli_dir& cli, const std::string& group, const std::string& topic, int partition) {
  auto r = cli({"groups", "--describe", "--group", group});
  REQUIRE_RC(r, ok);
  const std::regex row("^" + group + "\\s+" + topic + "\\s+" + std::to_string(partition) +
                       "\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)\\s+\\S+$");
  for (const auto& line : lines_of(r.out)) {
    std::smatch m;
    if (std::regex_match(line, m, row)) return m[1].str() + " " + m[2].str() + " " + m[3].str();
  }
  return "no row in: " + r.out;
}

}  // namespace

TEST_CASE("every subcommand answers --help with exit 0 and its options", "[cli]") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "--data-dir"},
      {{"topics"}, "--partitions"},
      {{"produce"}, "parse.key"},
      {{"consume"}, "--from-beginning"},
      {{"groups"}, "--reset-offsets"},
      {{"dump"}, "--deep-iteration"},
      {{"delete-records"}, "--offset"},
      {{"perf"}, "produce"},
      {{"perf", "produce"}, "--throughput"},
      {{"perf", "consume"}, "--num-records"},
  };
  for (const auto& [args, needle] : cases) {
    std::vector<std::string> argv = {franz_cli};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--help");
    auto r = run(argv);
    INFO("franz " << (args.empty() ? "" : args[0]) << " --help");
    REQUIRE_RC(r, ok);
    REQUIRE_THAT(r.out, Catch::Contains(needle));
  }
}

TEST_CASE("the data directory comes from --data-dir, then FRANZ_DATA_DIR, then /tmp/franz-data", "[cli]") {
  temp_dir tmp;
  const std::string env_dir = tmp.sub("env"), flag_dir = tmp.sub("flag");
  auto r = run({franz_cli, "topics", "--create", "--topic", "t"}, {}, {{"FRANZ_DATA_DIR", env_dir}});
  REQUIRE_RC(r, ok);
  REQUIRE(std::filesystem::exists(env_dir + "/t-0"));
  // The flag wins over the environment, before or after the subcommand.
  REQUIRE_RC(run({franz_cli, "--data-dir", flag_dir, "topics", "--create", "--topic", "u"}, {},
                 {{"FRANZ_DATA_DIR", env_dir}}),
             ok);
  REQUIRE_RC(run({franz_cli, "topics", "--create", "--topic", "v", "--data-dir", flag_dir}, {},
                 {{"FRANZ_DATA_DIR", env_dir}}),
             ok);
  REQUIRE(std::filesystem::exists(flag_dir + "/u-0"));
  REQUIRE(std::filesystem::exists(flag_dir + "/v-0"));
  REQUIRE_FALSE(std::filesystem::exists(env_dir + "/u-0"));
  auto help = run({franz_cli, "--help"}, {}, {{"FRANZ_DATA_DIR", ""}});
  REQUIRE_THAT(help.out, Catch::Contains("/tmp/franz-data"));
}

TEST_CASE("topics: create, list, describe with offsets and config, alter, delete", "[cli]") {
  cli_dir cli;
  REQUIRE_RC(cli({"topics", "--create", "--topic", "orders", "--partitions", "2", "--config", "retention.ms=60000",
                  "--config", "segment.bytes=1048576"}),
             ok);
  cli.create("audit");
  auto list = cli({"topics", "--list"});
  REQUIRE_RC(list, ok);
  REQUIRE(list.out == "audit\norders\n");
  REQUIRE_RC(cli({"produce", "--topic", "orders", "--partition", "1"}, "a\nb\nc\n"), ok);

  auto d = cli({"topics", "--describe", "--topic", "orders"});
  REQUIRE_RC(d, ok);
  const auto lines = lines_of(d.out);
  REQUIRE(lines.size() == 3);
  REQUIRE_THAT(lines[0], Catch::StartsWith("Topic: orders\t") && Catch::Contains("PartitionCount: 2") &&
                             Catch::Contains("Configs: retention.ms=60000,segment.bytes=1048576"));
  REQUIRE_THAT(lines[1], Catch::Contains("Partition: 0\tStartOffset: 0\tEndOffset: 0\tDurableOffset: 0\tSegments: 1"));
  REQUIRE_THAT(lines[2], Catch::Contains("Partition: 1\tStartOffset: 0\tEndOffset: 3\tDurableOffset: 3\tSegments: 1"));
  std::smatch size;
  REQUIRE(std::regex_search(lines[2], size, std::regex("Size: (\\d+)")));
  REQUIRE(std::stoull(size[1].str()) > 64);  // at least one batch header

  auto all = cli({"topics", "--describe", "--topic", "orders", "--all-configs"});
  REQUIRE_THAT(all.out, Catch::Contains("Config: retention.ms=60000\t(topic)") &&
                            Catch::Contains("Config: cleanup.policy=delete\t(default)"));

  REQUIRE_RC(cli({"topics", "--alter", "--topic", "orders", "--partitions", "4", "--config", "retention.ms=1000",
                  "--delete-config", "segment.bytes"}),
             ok);
  d = cli({"topics", "--describe", "--topic", "orders"});
  REQUIRE_THAT(d.out, Catch::Contains("PartitionCount: 4\tConfigs: retention.ms=1000\n"));

  REQUIRE_RC(cli({"topics", "--delete", "--topic", "audit"}), ok);
  REQUIRE(cli({"topics", "--list"}).out == "orders\n");
  REQUIRE_RC(cli({"topics", "--delete", "--topic", "audit", "--if-exists"}), ok);
  REQUIRE_RC(cli({"topics", "--create", "--topic", "orders", "--if-not-exists"}), ok);
}

TEST_CASE("produce then consume round-trips keys, values and headers, in the chosen format", "[cli]") {
  cli_dir cli;
  cli.create("events");
  auto p = cli({"produce", "--topic", "events", "--property", "parse.key=true", "--property", "parse.headers=true",
                "--property", "null.marker=<null>"},
               "trace:abc,tenant:7\tuser-1\tlogin\n"
               "\tuser-2\tlogout\n"
               "trace:<null>\t<null>\tping\n");
  REQUIRE_RC(p, ok);
  REQUIRE_THAT(p.err, Catch::Contains("3 records written to events"));

  auto c = cli({"consume", "--topic", "events", "--from-beginning", "--max-messages", "3", "--property",
                "print.key=true", "--property", "print.headers=true", "--property", "print.offset=true",
                "--property", "print.partition=true"});
  REQUIRE_RC(c, ok);
  REQUIRE(c.out ==
          "Partition:0\tOffset:0\ttrace:abc,tenant:7\tuser-1\tlogin\n"
          "Partition:0\tOffset:1\tNO_HEADERS\tuser-2\tlogout\n"
          "Partition:0\tOffset:2\ttrace:null\tnull\tping\n");
  REQUIRE_THAT(c.err, Catch::Contains("Processed a total of 3 messages"));

  auto j = cli({"consume", "--topic", "events", "--from-beginning", "--max-messages", "3", "--formatter", "json"});
  REQUIRE_RC(j, ok);
  const auto jl = lines_of(j.out);
  REQUIRE(jl.size() == 3);
  REQUIRE(std::regex_match(jl[0], std::regex(R"(\{"topic":"events","partition":0,"offset":0,"timestamp":\d+,)"
                                             R"("timestampType":"CreateTime","headers":\[\{"key":"trace","value":"abc"\},)"
                                             R"(\{"key":"tenant","value":"7"\}\],"key":"user-1","value":"login"\})")));
  REQUIRE_THAT(jl[2], Catch::Contains(R"("headers":[{"key":"trace","value":null}],"key":null,"value":"ping")"));

  // A timestamp is printed as Kafka does, with its type.
  auto t = cli({"consume", "--topic", "events", "--offset", "1", "--partition", "0", "--max-messages", "1",
                "--property", "print.timestamp=true"});
  REQUIRE_RC(t, ok);
  REQUIRE(std::regex_match(t.out, std::regex("CreateTime:\\d+\tlogout\n")));
}

TEST_CASE("produce honours --partition, --acks and --compression, and JSON escapes bytes it cannot print", "[cli]") {
  cli_dir cli;
  cli.create("t", 3);
  REQUIRE_RC(cli({"produce", "--topic", "t", "--partition", "2", "--acks", "0", "--compression", "zstd"},
                 std::string("quote\"tab\tx\n") + std::string("bin\xff\xfe\n") +
                     // Ill-formed UTF-8 that a lax check lets through: an
                     // overlong '/', and a surrogate.
                     std::string("over\xc0\xafx\n") + std::string("sur\xed\xa0\x80\n") + "caf\xc3\xa9\n"),
             ok);
  auto c = cli({"consume", "--topic", "t", "--partition", "2", "--offset", "earliest", "--max-messages", "5",
                "--formatter", "json"});
  REQUIRE_RC(c, ok);
  const auto l = lines_of(c.out);
  REQUIRE(l.size() == 5);
  REQUIRE_THAT(l[2], Catch::Contains(R"("value":"b3ZlcsCveA==","valueEncoding":"base64")"));
  REQUIRE_THAT(l[3], Catch::Contains(R"("value":"c3Vy7aCA","valueEncoding":"base64")"));
  REQUIRE_THAT(l[4], Catch::EndsWith("\"value\":\"caf\xc3\xa9\"}"));
  REQUIRE_THAT(l[0], Catch::Contains(R"("partition":2,"offset":0,)") && Catch::Contains(R"("value":"quote\"tab\tx")"));
  REQUIRE_THAT(l[1], Catch::Contains(R"("value":"Ymlu//4=","valueEncoding":"base64")"));
}

TEST_CASE("consume --include reads every matching topic; --isolation-level read_durable too", "[cli]") {
  cli_dir cli;
  cli.create("logs.a");
  cli.create("logs.b");
  cli.create("metrics");
  REQUIRE_RC(cli({"produce", "--topic", "logs.a"}, "a1\n"), ok);
  REQUIRE_RC(cli({"produce", "--topic", "logs.b"}, "b1\n"), ok);
  REQUIRE_RC(cli({"produce", "--topic", "metrics"}, "m1\n"), ok);
  for (const char* iso : {"read_uncommitted", "read_durable"}) {
    auto c = cli({"consume", "--include", "logs\\..*", "--from-beginning", "--timeout-ms", "300", "--isolation-level",
                  iso});
    REQUIRE_RC(c, ok);
    auto l = lines_of(c.out);
    std::sort(l.begin(), l.end());
    REQUIRE(l == std::vector<std::string>{"a1", "b1"});
  }
}

TEST_CASE("consume without --from-beginning starts at the end, as Kafka's does", "[cli]") {
  cli_dir cli;
  cli.create("t");
  REQUIRE_RC(cli({"produce", "--topic", "t"}, "old\n"), ok);
  auto c = cli({"consume", "--topic", "t", "--timeout-ms", "200"});
  REQUIRE_RC(c, ok);
  REQUIRE(c.out.empty());
  REQUIRE_THAT(c.err, Catch::Contains("Processed a total of 0 messages"));
}

TEST_CASE("groups describe after a partial consume shows the committed offset and the lag", "[cli]") {
  cli_dir cli;
  cli.create("jobs");
  std::string in;
  for (int i = 0; i < 10; ++i) in += "job-" + std::to_string(i) + "\n";
  REQUIRE_RC(cli({"produce", "--topic", "jobs"}, in), ok);
  auto c = cli({"consume", "--topic", "jobs", "--group", "workers", "--from-beginning", "--max-messages", "4"});
  REQUIRE_RC(c, ok);
  REQUIRE(c.out == "job-0\njob-1\njob-2\njob-3\n");
  REQUIRE(describe_row(cli, "workers", "jobs", 0) == "4 10 6");
  auto list = cli({"groups", "--list"});
  REQUIRE(list.out == "workers\n");
  auto state = cli({"groups", "--describe", "--group", "workers", "--state"});
  REQUIRE_THAT(state.out, Catch::Contains("Empty"));

  // The next run of the group resumes after what was printed.
  c = cli({"consume", "--topic", "jobs", "--group", "workers", "--max-messages", "2"});
  REQUIRE(c.out == "job-4\njob-5\n");
  REQUIRE(describe_row(cli, "workers", "jobs", 0) == "6 10 4");
}

TEST_CASE("reset-offsets: a dry run changes nothing, --execute commits the plan", "[cli]") {
  cli_dir cli;
  cli.create("jobs", 2);
  REQUIRE_RC(cli({"produce", "--topic", "jobs", "--partition", "0"}, "a\nb\nc\nd\n"), ok);
  REQUIRE_RC(cli({"produce", "--topic", "jobs", "--partition", "1"}, "e\nf\n"), ok);
  REQUIRE_RC(cli({"consume", "--topic", "jobs", "--group", "g", "--from-beginning", "--max-messages", "6"}), ok);
  REQUIRE(describe_row(cli, "g", "jobs", 0) == "4 4 0");

  auto dry = cli({"groups", "--reset-offsets", "--group", "g", "--topic", "jobs:0", "--shift-by", "-3"});
  REQUIRE_RC(dry, ok);
  REQUIRE(std::regex_search(dry.out, std::regex("g\\s+jobs\\s+0\\s+1\n")));
  REQUIRE_THAT(dry.err, Catch::Contains("dry run"));
  REQUIRE(describe_row(cli, "g", "jobs", 0) == "4 4 0");

  auto exec = cli({"groups", "--reset-offsets", "--group", "g", "--topic", "jobs:0", "--shift-by", "-3", "--execute"});
  REQUIRE_RC(exec, ok);
  REQUIRE(describe_row(cli, "g", "jobs", 0) == "1 4 3");
  REQUIRE(describe_row(cli, "g", "jobs", 1) == "2 2 0");  // outside the scope: untouched
  auto c = cli({"consume", "--topic", "jobs", "--group", "g", "--timeout-ms", "300"});
  REQUIRE(c.out == "b\nc\nd\n");

  REQUIRE_RC(cli({"groups", "--reset-offsets", "--group", "g", "--all-topics", "--to-earliest", "--execute"}), ok);
  REQUIRE(describe_row(cli, "g", "jobs", 0) == "0 4 4");
  REQUIRE(describe_row(cli, "g", "jobs", 1) == "0 2 2");
  REQUIRE_RC(cli({"groups", "--reset-offsets", "--group", "g", "--topic", "jobs", "--to-offset", "99", "--execute"}),
             ok);
  REQUIRE(describe_row(cli, "g", "jobs", 0) == "4 4 0");  // clamped to the log end
  REQUIRE_RC(cli({"groups", "--reset-offsets", "--group", "g", "--topic", "jobs", "--to-datetime",
                  "2000-01-01T00:00:00.000Z", "--execute"}),
             ok);
  REQUIRE(describe_row(cli, "g", "jobs", 0) == "0 4 4");  // every record is newer than 2000
  REQUIRE_RC(cli({"groups", "--reset-offsets", "--group", "g", "--topic", "jobs", "--to-latest", "--execute"}), ok);
  REQUIRE(describe_row(cli, "g", "jobs", 1) == "2 2 0");

  REQUIRE_RC(cli({"groups", "--delete", "--group", "g"}), ok);
  REQUIRE(cli({"groups", "--list"}).out.empty());
}

TEST_CASE("delete-records moves the log start; consumers from the beginning start there", "[cli]") {
  cli_dir cli;
  cli.create("t");
  REQUIRE_RC(cli({"produce", "--topic", "t"}, "0\n1\n2\n3\n4\n"), ok);
  auto d = cli({"delete-records", "--topic", "t", "--partition", "0", "--offset", "3"});
  REQUIRE_RC(d, ok);
  REQUIRE_THAT(d.out, Catch::Contains("low_watermark: 3"));
  auto c = cli({"consume", "--topic", "t", "--from-beginning", "--timeout-ms", "300"});
  REQUIRE(c.out == "3\n4\n");
  REQUIRE_THAT(cli({"topics", "--describe", "--topic", "t"}).out, Catch::Contains("StartOffset: 3\tEndOffset: 5"));
  // -1: up to the high watermark (the durable offset).
  REQUIRE_THAT(cli({"delete-records", "--topic", "t", "--partition", "0", "--offset", "-1"}).out,
               Catch::Contains("low_watermark: 5"));
  REQUIRE_ONE_LINE_ERROR(cli({"delete-records", "--topic", "t", "--partition", "0", "--offset", "9"}), failed,
                         "OFFSET_OUT_OF_RANGE");
  REQUIRE_ONE_LINE_ERROR(cli({"delete-records", "--topic", "t", "--partition", "7", "--offset", "0"}), not_found,
                         "UNKNOWN_TOPIC_OR_PARTITION");
}

TEST_CASE("Ctrl-C stops consume cleanly and commits exactly what was printed", "[cli]") {
  cli_dir cli;
  cli.create("t");
  REQUIRE_RC(cli({"produce", "--topic", "t"}, "a\nb\nc\nd\ne\n"), ok);
  child c({franz_cli, "--data-dir", cli.dir, "consume", "--topic", "t", "--group", "g", "--from-beginning"});
  REQUIRE(c.wait_for_lines(5));
  c.signal(SIGINT);
  auto r = c.wait();
  REQUIRE_RC(r, ok);
  REQUIRE(r.out == "a\nb\nc\nd\ne\n");
  REQUIRE_THAT(r.err, Catch::Contains("Processed a total of 5 messages"));
  REQUIRE(describe_row(cli, "g", "t", 0) == "5 5 0");
}

TEST_CASE("a reader that goes away (closed stdout) ends consume without an error", "[cli]") {
  cli_dir cli;
  cli.create("t");
  std::string in;
  for (int i = 0; i < 20000; ++i) in += "record-" + std::to_string(i) + "\n";
  REQUIRE_RC(cli({"produce", "--topic", "t"}, in), ok);
  // `franz consume | head -n 1`: consume gets EPIPE once head exits, and
  // must end on its own (not hang, not die of SIGPIPE).
  auto r = run({"/bin/bash", "-c",
                std::string(franz_cli) + " --data-dir " + cli.dir +
                    " consume --topic t --group g --from-beginning --timeout-ms 20000 | head -n 1; "
                    "echo \"rc=${PIPESTATUS[0]}\""});
  REQUIRE(r.out == "record-0\nrc=0\n");
  // 20000 lines do not fit in a pipe: it stopped early, and committed only
  // what it had written — nothing at all if the write that failed was its
  // first (head may exit between two write()s of one batch).
  auto d = cli({"groups", "--describe", "--group", "g"});
  if (d.rc == not_found) {
    REQUIRE_THAT(d.err, Catch::Contains("GROUP_ID_NOT_FOUND"));
  } else {
    const auto row = describe_row(cli, "g", "t", 0);
    INFO(row);
    REQUIRE(std::regex_match(row, std::regex("\\d+ 20000 \\d+")));
    REQUIRE(row != "20000 20000 0");
  }
}

TEST_CASE("no progress bar when stderr is not a terminal", "[cli]") {
  cli_dir cli;
  cli.create("t");
  REQUIRE_RC(cli({"produce", "--topic", "t"}, "a\nb\n"), ok);
  auto c = cli({"consume", "--topic", "t", "--from-beginning", "--max-messages", "2"});
  REQUIRE_RC(c, ok);
  REQUIRE(c.err.find('\r') == std::string::npos);
  REQUIRE(c.err == "Processed a total of 2 messages\n");
}

TEST_CASE("progress bar on a terminal for consume --max-messages", "[cli]") {
  if (::access("/usr/bin/script", X_OK) != 0) {
    WARN("util-linux script(1) is missing: no pseudo-terminal to test with");
    return;
  }
  cli_dir cli;
  cli.create("t");
  REQUIRE_RC(cli({"produce", "--topic", "t"}, "a\nb\n"), ok);
  // script(1) runs the command on a pseudo-terminal and copies what it saw.
  auto r = run({"/usr/bin/script", "-qec",
                std::string(franz_cli) + " --data-dir " + cli.dir +
                    " consume --topic t --from-beginning --max-messages 2 >/dev/null",
                "/dev/null"});
  REQUIRE_RC(r, ok);
  REQUIRE_THAT(r.out, Catch::Contains("consume [") && Catch::Contains("2/2"));
}

TEST_CASE("bad input: unknown topic or partition exits 3 with one line", "[cli]") {
  cli_dir cli;
  cli.create("t");
  REQUIRE_ONE_LINE_ERROR(cli({"produce", "--topic", "nope"}, "x\n"), not_found, "UNKNOWN_TOPIC_OR_PARTITION");
  REQUIRE_ONE_LINE_ERROR(cli({"produce", "--topic", "t", "--partition", "3"}, "x\n"), not_found, "partition");
  REQUIRE_ONE_LINE_ERROR(cli({"consume", "--topic", "nope", "--timeout-ms", "100"}), not_found, "nope");
  REQUIRE_ONE_LINE_ERROR(cli({"consume", "--topic", "nope", "--group", "g", "--timeout-ms", "100"}), not_found, "nope");
  REQUIRE_ONE_LINE_ERROR(cli({"topics", "--describe", "--topic", "nope"}), not_found, "nope");
  REQUIRE_ONE_LINE_ERROR(cli({"topics", "--delete", "--topic", "nope"}), not_found, "nope");
  REQUIRE_ONE_LINE_ERROR(cli({"groups", "--describe", "--group", "nope"}), not_found, "GROUP_ID_NOT_FOUND");
  REQUIRE_ONE_LINE_ERROR(cli({"groups", "--reset-offsets", "--group", "g", "--topic", "nope", "--to-earliest"}),
                         not_found, "nope");
  // Nothing was written by the failed produce.
  REQUIRE_THAT(cli({"topics", "--describe", "--topic", "t"}).out, Catch::Contains("EndOffset: 0"));
}

TEST_CASE("bad input: invalid names, bad --config, lower --partitions exit 2 and change nothing", "[cli]") {
  cli_dir cli;
  cli.create("t", 2);
  REQUIRE_ONE_LINE_ERROR(cli({"topics", "--create", "--topic", "bad/name"}), usage, "INVALID_TOPIC_EXCEPTION");
  REQUIRE_ONE_LINE_ERROR(cli({"topics", "--create", "--topic", std::string(250, 'x')}), usage,
                         "INVALID_TOPIC_EXCEPTION");
  REQUIRE_ONE_LINE_ERROR(cli({"topics", "--create", "--topic", "u", "--config", "retention.msec=5"}), usage,
                         "retention.msec");
  REQUIRE_ONE_LINE_ERROR(cli({"topics", "--create", "--topic", "u", "--config", "retention.ms=soon"}), usage,
                         "retention.ms");
  REQUIRE_ONE_LINE_ERROR(cli({"topics", "--create", "--topic", "u", "--config", "retention.ms"}), usage,
                         "key=value");
  REQUIRE_ONE_LINE_ERROR(cli({"topics", "--create", "--topic", "u", "--partitions", "0"}), usage, "INVALID_PARTITIONS");
  REQUIRE(cli({"topics", "--list"}).out == "t\n");

  // A lower count with a valid config change: neither happens.
  REQUIRE_ONE_LINE_ERROR(cli({"topics", "--alter", "--topic", "t", "--partitions", "1", "--config", "retention.ms=5"}),
                         usage, "INVALID_PARTITIONS");
  REQUIRE_ONE_LINE_ERROR(cli({"topics", "--alter", "--topic", "t", "--partitions", "2"}), usage, "INVALID_PARTITIONS");
  REQUIRE_ONE_LINE_ERROR(cli({"topics", "--alter", "--topic", "t", "--config", "segment.bytes=1"}), usage,
                         "segment.bytes");
  REQUIRE_THAT(cli({"topics", "--describe", "--topic", "t"}).out, Catch::Contains("PartitionCount: 2\tConfigs: \n"));

  REQUIRE_ONE_LINE_ERROR(cli({"consume", "--include", "(unclosed", "--timeout-ms", "10"}), usage,
                         "INVALID_REGULAR_EXPRESSION");
  REQUIRE_ONE_LINE_ERROR(cli({"groups", "--reset-offsets", "--group", "g", "--all-topics", "--to-datetime", "yesterday"}),
                         usage, "--to-datetime");
  REQUIRE_ONE_LINE_ERROR(cli({"produce", "--topic", "t", "--property", "parse.keys=true"}, "x\n"), usage, "parse.keys");
  REQUIRE_ONE_LINE_ERROR(cli({"produce", "--topic", "t", "--producer-property", "linger.ms=-4"}, "x\n"), usage,
                         "linger.ms");
  REQUIRE_ONE_LINE_ERROR(cli({"consume", "--topic", "t", "--property", "print.keys=true"}), usage, "print.keys");
}

TEST_CASE("bad input: command-line misuse exits 2", "[cli]") {
  cli_dir cli;
  cli.create("t");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"topics"},                                        // no action
           {"topics", "--list", "--create", "--topic", "x"},  // two actions
           {"topics", "--create"},                            // no topic
           {"topics", "--list", "--partitions", "3"},         // an option the action does not take
           {"produce"},                                       // --topic is required
           {"produce", "--topic", "t", "--acks", "2"},
           {"produce", "--topic", "t", "--compression", "gzip"},
           {"consume", "--topic", "t", "--offset", "3"},  // --offset needs --partition
           {"consume", "--topic", "t", "--partition", "0", "--offset", "three"},
           {"consume", "--topic", "t", "--include", "t"},
           {"groups", "--describe"},  // no group
           {"groups", "--reset-offsets", "--group", "g", "--all-topics"},  // no target
           {"frobnicate"},
           {"topics", "--list", "--no-such-option"},
       }) {
    auto r = cli(args);
    INFO("franz " << args[0] << " ... (" << args.size() << " args)");
    REQUIRE_RC(r, usage);
    REQUIRE_FALSE(r.err.empty());
  }
}

TEST_CASE("bad input: a malformed line with parse.key stops produce at that line, earlier lines written", "[cli]") {
  cli_dir cli;
  cli.create("t");
  auto p = cli({"produce", "--topic", "t", "--property", "parse.key=true", "--property", "key.separator=:"},
               "k1:v1\nk2:v2\nno separator here\nk4:v4\n");
  REQUIRE_RC(p, usage);
  const auto l = lines_of(p.err);
  REQUIRE(l.size() == 2);
  REQUIRE_THAT(l[0], Catch::Contains("line 3: no key separator ':'"));
  REQUIRE(l[1] == "franz produce: 2 records written to t");
  auto c = cli({"consume", "--topic", "t", "--from-beginning", "--timeout-ms", "300", "--property", "print.key=true"});
  REQUIRE(c.out == "k1\tv1\nk2\tv2\n");

  // ignore.error: the line is kept, with a null key.
  REQUIRE_RC(cli({"produce", "--topic", "t", "--property", "parse.key=true", "--property", "ignore.error=true"},
                 "no separator\n"),
             ok);
  c = cli({"consume", "--topic", "t", "--partition", "0", "--offset", "2", "--timeout-ms", "300", "--property",
           "print.key=true"});
  REQUIRE(c.out == "null\tno separator\n");
}

TEST_CASE("bad input: a missing data directory exits 5; only topics --create makes one", "[cli]") {
  temp_dir tmp;
  const std::string missing = tmp.sub("missing");
  REQUIRE_ONE_LINE_ERROR(::franz::test::franz(missing, {"topics", "--list"}), data_dir, "does not exist");
  REQUIRE_ONE_LINE_ERROR(::franz::test::franz(missing, {"produce", "--topic", "t"}, "x\n"), data_dir, "does not exist");
  REQUIRE_ONE_LINE_ERROR(::franz::test::franz(missing, {"consume", "--topic", "t"}), data_dir, "does not exist");
  REQUIRE_ONE_LINE_ERROR(::franz::test::franz(missing, {"groups", "--list"}), data_dir, "does not exist");
  REQUIRE_FALSE(std::filesystem::exists(missing));
  REQUIRE_ONE_LINE_ERROR(::franz::test::franz(tmp.sub("no/parent"), {"topics", "--create", "--topic", "t"}), data_dir,
                         "cannot be created");
  write_file(tmp.sub("file"), "x");
  REQUIRE_ONE_LINE_ERROR(::franz::test::franz(tmp.sub("file"), {"topics", "--list"}), data_dir, "not a directory");
  REQUIRE_RC(::franz::test::franz(missing, {"topics", "--create", "--topic", "t"}), ok);
  REQUIRE(std::filesystem::is_directory(missing));
}

TEST_CASE("bad input: a data directory that is not writable exits 5", "[cli]") {
  std::string dir;
  temp_dir tmp;
  if (::geteuid() == 0) {
    dir = "/proc/1";  // not writable even for root
  } else {
    dir = tmp.sub("ro");
    REQUIRE_RC(::franz::test::franz(dir, {"topics", "--create", "--topic", "t"}), ok);
    REQUIRE(::chmod(dir.c_str(), 0500) == 0);
  }
  REQUIRE_ONE_LINE_ERROR(::franz::test::franz(dir, {"topics", "--list"}), data_dir, "not writable");
  REQUIRE_ONE_LINE_ERROR(::franz::test::franz(dir, {"produce", "--topic", "t"}, "x\n"), data_dir, "not writable");
  if (::geteuid() != 0) REQUIRE(::chmod(dir.c_str(), 0700) == 0);
}

TEST_CASE("bad input: a data directory locked by a writer in another process exits 5", "[cli]") {
  cli_dir cli;
  cli.create("t");
  {
    // This test process is the other writer.
    auto b = broker::open({.data_dir = cli.dir, .create_if_missing = false});
    REQUIRE_OK(b);
    REQUIRE_ONE_LINE_ERROR(cli({"produce", "--topic", "t"}, "x\n"), data_dir, "locked by another process");
    REQUIRE_ONE_LINE_ERROR(cli({"topics", "--list"}), data_dir, "locked");
    REQUIRE_ONE_LINE_ERROR(cli({"consume", "--topic", "t", "--timeout-ms", "10"}), data_dir, "locked");
    REQUIRE((*b)->describe_topic("t")->partitions[0].log_end == offset{0});
  }
  REQUIRE_RC(cli({"produce", "--topic", "t"}, "x\n"), ok);
}
