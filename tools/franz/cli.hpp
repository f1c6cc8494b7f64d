// franz CLI — what the subcommands share: exit codes, the arguments each
// one takes, opening the data directory, one-line errors, the progress bar.
//
// main.cpp owns the command line (CLI11 is included there only); each
// subcommand file implements run_<name>(context, args) and returns an exit
// code. doc/cli.md documents every option and the exit codes below.
//
// Thread-safety: the tool is single-threaded except where a subcommand says
// otherwise (consume's signal handling, perf's producer callbacks).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <franz/franz.hpp>

namespace franz::cli {

// Exit codes (doc/cli.md, "Exit codes"). Stable: scripts test them.
enum exit_code : int {
  exit_ok = 0,
  exit_failed = 1,     // an operation failed (I/O, a record not written, group not empty, ...)
  exit_usage = 2,      // bad command line or input: unknown option, invalid name, bad --config, malformed line
  exit_not_found = 3,  // the topic, partition or group does not exist
  exit_corrupt = 4,    // damaged data: CORRUPT_MESSAGE, or dump found damage
  exit_data_dir = 5,   // the data directory is missing, not writable, or locked by another process
};

// The exit code an error maps to (see exit_code).
[[nodiscard]] int exit_code_of(const error& e) noexcept;

// Prints "franz <command>: <ERROR_NAME>: <message>" on one line to stderr;
// returns exit_code_of(e).
int report(std::string_view command, const error& e);
// Prints "franz <command>: <message>" to stderr; returns code.
int report(std::string_view command, int code, std::string_view message);

struct context {
  // --data-dir, else FRANZ_DATA_DIR, else default_data_dir.
  std::string data_dir;
};

inline constexpr const char* default_data_dir = "/tmp/franz-data";

// Opens the data directory. It must exist unless `create` (then its parent
// must). Errors are already reported; the exit code is returned instead:
// exit_data_dir (missing, not a directory, not writable, locked by another
// process), exit_corrupt, exit_failed.
struct opened {
  std::unique_ptr<broker> b;
  int rc = exit_ok;
};
[[nodiscard]] opened open_data_dir(const context& ctx, std::string_view command, bool create = false);

// "k=v" → {k, v}; the key must be non-empty. nullopt if there is no '='.
[[nodiscard]] std::optional<std::pair<std::string, std::string>> split_property(std::string_view kv);
// Parses a list of "k=v"; on a malformed entry reports it (exit_usage) and
// returns nullopt.
[[nodiscard]] std::optional<std::map<std::string, std::string>> parse_properties(
    std::string_view command, std::string_view option, const std::vector<std::string>& kvs);

// Where --property keys of a line reader or formatter go. Flags take true
// or false; in strings "\t", "\n" and "\\" stand for a tab, a newline and a
// backslash (a shell user need not type a literal tab).
struct property_targets {
  std::map<std::string_view, bool*> flags{};
  std::map<std::string_view, std::string*> strings{};
  std::map<std::string_view, std::optional<std::string>*> optional_strings{};
};
// INVALID_CONFIG naming `option` and the key for an unknown key or a flag
// that is not true/false; the targets are then partly set.
[[nodiscard]] status apply_properties(std::string_view option, const std::map<std::string, std::string>& props,
                                      const property_targets& t);

// The length of the well-formed UTF-8 sequence of a non-ASCII character at
// s[i] (2 to 4; no overlong forms, surrogates or code points above
// U+10FFFF), or 0 if the bytes there are not one.
[[nodiscard]] std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;

// A progress bar on stderr, drawn only when stderr is a terminal (never
// under a pipe or redirection), redrawn at most 10 times a second.
class progress_bar {
 public:
  // total 0: unknown (shows a count and a rate, no bar).
  progress_bar(std::string label, std::uint64_t total);
  ~progress_bar();
  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;

  void update(std::uint64_t done);
  // Erases the bar (the caller prints its summary after).
  void finish();
  [[nodiscard]] bool enabled() const noexcept { return enabled_; }

 private:
  void draw(std::uint64_t done);

  std::string label_;
  std::uint64_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

// --- subcommand arguments (filled by main.cpp) -------------------------------

struct topics_args {
  bool create = false, list = false, describe = false, del = false, alter = false;
  std::string topic;                      // --topic (describe: optional, all topics if empty)
  std::optional<std::int32_t> partitions;  // --partitions
  std::vector<std::string> config;         // --config k=v (repeatable)
  std::vector<std::string> delete_config;  // --delete-config k (alter)
  bool if_not_exists = false, if_exists = false;
  bool all_configs = false;  // describe: every effective key, not only overrides
  bool include_internal = false;
};
int run_topics(const context& ctx, const topics_args& a);

struct delete_records_args {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = -1;  // -1: the high watermark (the durable offset)
};
int run_delete_records(const context& ctx, const delete_records_args& a);

struct produce_args {
  std::string topic;
  std::string acks = "all";
  std::string compression = "none";
  std::optional<std::int32_t> partition;
  std::vector<std::string> property;           // --property (line reader)
  std::vector<std::string> producer_property;  // --producer-property (producer config)
};
int run_produce(const context& ctx, const produce_args& a);

struct consume_args {
  std::string topic;
  std::string include;  // --include REGEX
  std::optional<std::string> group;
  bool from_beginning = false;
  std::optional<std::int32_t> partition;
  std::optional<std::string> offset;  // a number, "earliest" or "latest" (needs --partition)
  std::optional<std::int64_t> max_messages;
  std::optional<std::int64_t> timeout_ms;  // exit after this long without a record
  std::vector<std::string> property;           // formatter properties
  std::vector<std::string> consumer_property;  // consumer config
  std::string formatter = "default";           // default | json
  std::string isolation_level = "read_uncommitted";
};
int run_consume(const context& ctx, const consume_args& a);

struct groups_args {
  bool list = false, describe = false, reset_offsets = false, del = false;
  std::vector<std::string> group;  // --group (repeatable for describe/delete)
  bool all_groups = false;
  bool members = false, state = false;  // describe views
  // reset-offsets
  std::vector<std::string> topic;  // "topic" or "topic:0,2"
  bool all_topics = false;
  bool to_earliest = false, to_latest = false;
  std::optional<std::int64_t> to_offset;
  std::optional<std::string> to_datetime;
  std::optional<std::int64_t> shift_by;
  bool dry_run = false, execute = false;
};
int run_groups(const context& ctx, const groups_args& a);

struct dump_args {
  std::vector<std::string> files;  // .log, .index, .timeindex files
  bool print_data_log = false;     // print every record, not only batches
  bool deep_iteration = false;     // verify every checksum and decode every record
  bool verify_index_only = false;  // check index entries against the log, print nothing else
  bool offsets_decoder = false;    // decode __consumer_offsets records
  std::int64_t max_bytes = -1;     // stop after this many bytes of log (-1: all)
};
int run_dump(const context& ctx, const dump_args& a);

struct perf_args {
  std::string mode;  // produce | consume
  std::string topic;
  std::int64_t num_records = 0;
  std::int64_t record_size = 100;
  double throughput = -1;  // records/s; -1 unthrottled
  std::string acks = "all";
  std::string compression = "none";
  std::vector<std::string> producer_props;  // --producer-props k=v
  std::vector<std::string> consumer_props;  // --consumer-props k=v
  std::optional<std::string> group;         // consume: join this group
  std::int64_t timeout_ms = 10000;          // consume: give up after this long without records
  std::int64_t reporting_interval_ms = 5000;
};
int run_perf(const context& ctx, const perf_args& a);

}  // namespace franz::cli
