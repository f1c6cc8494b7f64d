// franz — the command-line tool: topics, console producer and consumer,
// consumer groups, log dumps, record deletion and perf tests, in one
// command (Kafka's kafka-topics.sh, kafka-console-producer.sh, ...).
//
// This file is the whole command line: every subcommand and option, parsed
// by CLI11 into the argument structs of cli.hpp. The work is in the
// subcommand files. doc/cli.md is the user's guide.
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli.hpp"

namespace {

using namespace franz::cli;

// One of the flags of `group` must be given.
CLI::Option_group* actions(CLI::App* sub) {
  auto* g = sub->add_option_group("actions", "exactly one of");
  g->require_option(1);
  return g;
}

// --acks and --compression, shared by produce and perf produce.
void add_producer_options(CLI::App* sub, std::string& acks, std::string& compression) {
  sub->add_option("--acks", acks, "acks: 0, 1 or all")
      ->check(CLI::IsMember({"0", "1", "all", "-1"}))
      ->capture_default_str();
  sub->add_option("--compression", compression, "compression.type: none, lz4 or zstd")
      ->check(CLI::IsMember({"none", "lz4", "zstd"}))
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"franz: topics, producers, consumers, consumer groups and logs of a franz data directory.\n"
               "Exit codes: 0 ok, 1 failed, 2 usage error, 3 topic/partition/group not found,\n"
               "4 corrupt data, 5 data directory missing, not writable or locked.",
               "franz"};
  app.require_subcommand(1, 1);
  app.fallthrough();  // --data-dir may also follow the subcommand
  app.set_version_flag("--version", "franz 0.1.0");
  context ctx;
  app.add_option("--data-dir", ctx.data_dir, "Data directory (a broker's log.dirs)")
      ->envname("FRANZ_DATA_DIR")
      ->default_val(default_data_dir)
      ->type_name("DIR");

  // --- topics ----------------------------------------------------------------
  topics_args ta;
  auto* topics = app.add_subcommand("topics", "Create, list, describe, alter or delete topics (kafka-topics.sh)");
  auto* tact = actions(topics);
  tact->add_flag("--create", ta.create, "Create --topic with --partitions and --config");
  tact->add_flag("--list", ta.list, "List the topics");
  tact->add_flag("--describe", ta.describe, "Describe --topic (default: every topic)");
  tact->add_flag("--delete", ta.del, "Delete --topic and its data");
  tact->add_flag("--alter", ta.alter, "Grow --partitions, or change --config / --delete-config");
  topics->add_option("--topic", ta.topic, "Topic name")->type_name("NAME");
  topics->add_option("--partitions", ta.partitions, "Partition count (create: default num.partitions = 1)")
      ->type_name("N");
  topics->add_option("--config", ta.config, "Topic config override, Kafka key (repeatable)")->type_name("KEY=VALUE");
  topics->add_option("--delete-config", ta.delete_config, "Config key to return to its default (alter; repeatable)")
      ->type_name("KEY");
  topics->add_flag("--if-not-exists", ta.if_not_exists, "create: succeed if the topic exists");
  topics->add_flag("--if-exists", ta.if_exists, "delete, alter: succeed if the topic does not exist");
  topics->add_flag("--all-configs", ta.all_configs, "describe: every effective config, not only overrides");
  topics->add_flag("--include-internal", ta.include_internal, "list, describe: include __consumer_offsets");

  // --- produce ---------------------------------------------------------------
  produce_args pa;
  auto* produce = app.add_subcommand("produce", "Write stdin to a topic, one record per line (kafka-console-producer.sh)");
  produce->add_option("--topic", pa.topic, "Topic to write to")->required()->type_name("NAME");
  add_producer_options(produce, pa.acks, pa.compression);
  produce->add_option("--partition", pa.partition, "Write every record to this partition")->type_name("N");
  produce->add_option("--property", pa.property,
                      "Line reader: parse.key, key.separator (\\t), parse.headers, headers.delimiter (\\t),\n"
                      "headers.separator (,), headers.key.separator (:), null.marker, ignore.error")
      ->type_name("KEY=VALUE");
  produce->add_option("--producer-property", pa.producer_property, "Producer config, Kafka key (repeatable)")
      ->type_name("KEY=VALUE");

  // --- consume ---------------------------------------------------------------
  consume_args ca;
  auto* consume = app.add_subcommand("consume", "Print records to stdout (kafka-console-consumer.sh)");
  auto* csrc = consume->add_option_group("source", "exactly one of");
  csrc->add_option("--topic", ca.topic, "Topic to read")->type_name("NAME");
  csrc->add_option("--include", ca.include, "Read every topic whose name matches REGEX")->type_name("REGEX");
  csrc->require_option(1);
  consume->add_option("--group", ca.group, "Consumer group: start at its committed offsets, commit what is printed")
      ->type_name("ID");
  consume->add_flag("--from-beginning", ca.from_beginning, "Start at the log start when there is no committed offset");
  consume->add_option("--partition", ca.partition, "Read only this partition")->type_name("N");
  consume->add_option("--offset", ca.offset, "Start offset: a number, earliest or latest (needs --partition)")
      ->type_name("OFFSET");
  consume->add_option("--max-messages", ca.max_messages, "Exit after this many records")->type_name("N");
  consume->add_option("--timeout-ms", ca.timeout_ms, "Exit when no record arrives for this long")->type_name("MS");
  consume->add_option("--property", ca.property,
                      "Formatter: print.key, print.offset, print.partition, print.timestamp, print.headers,\n"
                      "print.value, key.separator (\\t), line.separator (\\n), headers.separator (,),\n"
                      "null.literal (null)")
      ->type_name("KEY=VALUE");
  consume->add_option("--consumer-property", ca.consumer_property, "Consumer config, Kafka key (repeatable)")
      ->type_name("KEY=VALUE");
  consume->add_option("--formatter", ca.formatter, "default or json (one JSON object per line)")
      ->check(CLI::IsMember({"default", "json"}))
      ->capture_default_str();
  consume->add_option("--isolation-level", ca.isolation_level,
                      "read_uncommitted (everything appended) or read_durable (fsynced only;\n"
                      "read_committed is accepted as its Kafka name)")
      ->check(CLI::IsMember({"read_uncommitted", "read_durable", "read_committed"}))
      ->capture_default_str();

  // --- groups ----------------------------------------------------------------
  groups_args ga;
  auto* groups = app.add_subcommand("groups", "List, describe, reset or delete consumer groups (kafka-consumer-groups.sh)");
  auto* gact = actions(groups);
  gact->add_flag("--list", ga.list, "List the groups and their states");
  gact->add_flag("--describe", ga.describe, "Per partition: committed offset, log end, lag and owner");
  gact->add_flag("--reset-offsets", ga.reset_offsets, "Move committed offsets (see --to-*, --dry-run, --execute)");
  gact->add_flag("--delete", ga.del, "Delete a group and its committed offsets");
  groups->add_option("--group", ga.group, "Group id (repeatable)")->type_name("ID");
  groups->add_flag("--all-groups", ga.all_groups, "describe, delete, reset-offsets: every group");
  groups->add_flag("--members", ga.members, "describe: the members and their partitions");
  groups->add_flag("--state", ga.state, "describe: the group's state, assignor and generation");
  groups->add_option("--topic", ga.topic, "reset-offsets: TOPIC or TOPIC:P,P (repeatable)")->type_name("TOPIC[:P,..]");
  groups->add_flag("--all-topics", ga.all_topics, "reset-offsets: every partition the group has committed");
  auto* gto = groups->add_option_group("reset target", "reset-offsets: exactly one of");
  gto->add_flag("--to-earliest", ga.to_earliest, "The log start");
  gto->add_flag("--to-latest", ga.to_latest, "The log end");
  gto->add_option("--to-offset", ga.to_offset, "This offset (clamped to the log)")->type_name("OFFSET");
  gto->add_option("--to-datetime", ga.to_datetime, "The first record at or after YYYY-MM-DDTHH:mm:SS[.sss][Z|+hh:mm]")
      ->type_name("DATETIME");
  gto->add_option("--shift-by", ga.shift_by, "The committed offset plus N (negative: back)")->type_name("N");
  gto->require_option(0, 1);
  auto* gmode = groups->add_option_group("reset mode", "reset-offsets: at most one of");
  gmode->add_flag("--dry-run", ga.dry_run, "Show the new offsets only (the default)");
  gmode->add_flag("--execute", ga.execute, "Commit the new offsets");
  gmode->require_option(0, 1);

  // --- dump ------------------------------------------------------------------
  dump_args da;
  std::vector<std::string> dump_positional;
  auto* dump = app.add_subcommand("dump", "Print and verify segment and index files (kafka-dump-log.sh)");
  dump->add_option("--files", da.files, "Comma-separated .log, .index or .timeindex files")
      ->delimiter(',')
      ->type_name("FILE,..");
  dump->add_option("files", dump_positional, "Files (as --files)")->type_name("FILE");
  dump->add_flag("--print-data-log", da.print_data_log, "Print every record, not only the batches");
  dump->add_flag("--deep-iteration", da.deep_iteration, "Also decompress and decode every record (checksums are always verified)");
  dump->add_flag("--verify-index-only", da.verify_index_only, "Check index entries against the log; print only problems");
  dump->add_flag("--offsets-decoder", da.offsets_decoder, "Decode __consumer_offsets records (committed offsets)");
  dump->add_option("--max-bytes", da.max_bytes, "Stop after this many bytes of each log file")->type_name("N");

  // --- delete-records --------------------------------------------------------
  delete_records_args dra;
  auto* delrec = app.add_subcommand("delete-records", "Move a partition's log start forward (kafka-delete-records.sh)");
  delrec->add_option("--topic", dra.topic, "Topic")->required()->type_name("NAME");
  delrec->add_option("--partition", dra.partition, "Partition")->required()->type_name("N");
  delrec->add_option("--offset", dra.offset, "Delete records before this offset (-1: the durable offset)")
      ->required()
      ->type_name("OFFSET");

  // --- perf ------------------------------------------------------------------
  perf_args fa;
  auto* perf = app.add_subcommand("perf", "Producer and consumer throughput and latency "
                                          "(kafka-producer-perf-test.sh, kafka-consumer-perf-test.sh)");
  perf->require_subcommand(1, 1);
  auto* perf_produce = perf->add_subcommand("produce", "Send --num-records records of --record-size bytes");
  auto* perf_consume = perf->add_subcommand("consume", "Read --num-records records (from the log start, or a group)");
  for (auto* p : {perf_produce, perf_consume}) {
    p->add_option("--topic", fa.topic, "Topic")->required()->type_name("NAME");
    p->add_option("--num-records", fa.num_records, "Records to send or read")->required()->type_name("N");
    p->add_option("--reporting-interval", fa.reporting_interval_ms, "ms between interim lines (both modes)")
        ->capture_default_str()
        ->type_name("MS");
  }
  perf_produce->add_option("--record-size", fa.record_size, "Value size in bytes")->capture_default_str()->type_name("N");
  perf_produce->add_option("--throughput", fa.throughput, "Records/s to aim for; -1 unthrottled")
      ->capture_default_str()
      ->type_name("N");
  add_producer_options(perf_produce, fa.acks, fa.compression);
  perf_produce->add_option("--producer-props", fa.producer_props, "Producer config, Kafka keys")
      ->type_name("KEY=VALUE");
  perf_consume->add_option("--group", fa.group, "Consume as a member of this group")->type_name("ID");
  perf_consume->add_option("--consumer-props", fa.consumer_props, "Consumer config, Kafka keys")
      ->type_name("KEY=VALUE");
  perf_consume->add_option("--timeout", fa.timeout_ms, "Give up after this many ms without a record")
      ->capture_default_str()
      ->type_name("MS");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "franz: %s\nRun with --help for more information.\n", e.what());
    return exit_usage;
  }

  if (*topics) return run_topics(ctx, ta);
  if (*produce) return run_produce(ctx, pa);
  if (*consume) return run_consume(ctx, ca);
  if (*groups) return run_groups(ctx, ga);
  if (*dump) {
    da.files.insert(da.files.end(), dump_positional.begin(), dump_positional.end());
    return run_dump(ctx, da);
  }
  if (*delrec) return run_delete_records(ctx, dra);
  if (*perf) {
    fa.mode = *perf_produce ? "produce" : "consume";
    return run_perf(ctx, fa);
  }
  return exit_usage;
}
