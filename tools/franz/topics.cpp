// franz topics (kafka-topics.sh) and franz delete-records
// (kafka-delete-records.sh).
#include <cstdio>

#include <fmt/format.h>

#include "cli.hpp"

namespace franz::cli {
namespace {

constexpr std::string_view cmd = "topics";

// Options that make sense only with some actions: a misplaced one is a
// usage error rather than silently ignored.
int check_options(const topics_args& a) {
  const bool needs_topic = a.create || a.del || a.alter;
  if (needs_topic && a.topic.empty()) return report(cmd, exit_usage, "--topic is required");
  if (a.partitions && !(a.create || a.alter))
    return report(cmd, exit_usage, "--partitions applies only to --create and --alter");
  if (!a.config.empty() && !(a.create || a.alter))
    return report(cmd, exit_usage, "--config applies only to --create and --alter");
  if (!a.delete_config.empty() && !a.alter) return report(cmd, exit_usage, "--delete-config applies only to --alter");
  if (a.alter && !a.partitions && a.config.empty() && a.delete_config.empty())
    return report(cmd, exit_usage, "--alter needs --partitions, --config or --delete-config");
  if (a.if_not_exists && !a.create) return report(cmd, exit_usage, "--if-not-exists applies only to --create");
  if (a.if_exists && !(a.del || a.alter)) return report(cmd, exit_usage, "--if-exists applies only to --delete and --alter");
  if (a.all_configs && !a.describe) return report(cmd, exit_usage, "--all-configs applies only to --describe");
  if (a.include_internal && !(a.list || a.describe))
    return report(cmd, exit_usage, "--include-internal applies only to --list and --describe");
  return exit_ok;
}

std::string join_config(const std::map<std::string, std::string>& m) {
  std::string out;
  for (const auto& [k, v] : m) out += fmt::format("{}{}={}", out.empty() ? "" : ",", k, v);
  return out;
}

void print_description(const topic_description& d, bool all_configs) {
  std::printf("Topic: %s\tTopicId: %llu\tPartitionCount: %zu\tConfigs: %s\n", d.name.c_str(),
              static_cast<unsigned long long>(d.topic_id), d.partitions.size(), join_config(d.overrides).c_str());
  for (const auto& p : d.partitions)
    std::printf("\tTopic: %s\tPartition: %d\tStartOffset: %lld\tEndOffset: %lld\tDurableOffset: %lld\t"
                "Segments: %zu\tSize: %llu\n",
                d.name.c_str(), p.partition, static_cast<long long>(p.log_start.value()),
                static_cast<long long>(p.log_end.value()), static_cast<long long>(p.durable.value()), p.segments,
                static_cast<unsigned long long>(p.size_bytes));
  if (all_configs)
    for (const auto& [k, v] : d.config)
      std::printf("\tConfig: %s=%s\t(%s)\n", k.c_str(), v.c_str(), d.overrides.contains(k) ? "topic" : "default");
}

int describe(broker& b, const topics_args& a) {
  std::vector<std::string> names;
  if (!a.topic.empty())
    names.push_back(a.topic);
  else
    names = b.list_topics(a.include_internal);
  for (const auto& name : names) {
    auto d = b.describe_topic(name);
    if (!d) return report(cmd, d.error());
    print_description(*d, a.all_configs);
  }
  return exit_ok;
}

int create(broker& b, const topics_args& a, const std::map<std::string, std::string>& config) {
  auto s = b.create_topic(a.topic, a.partitions.value_or(-1), config);
  if (!s.ok()) {
    if (s.error().code == errc::topic_already_exists && a.if_not_exists) return exit_ok;
    return report(cmd, s.error());
  }
  std::printf("Created topic %s.\n", a.topic.c_str());
  return exit_ok;
}

// Both changes are checked before either is made, so a bad --partitions
// never leaves a config change behind (and the config change is validated
// as a whole by alter_topic_config).
int alter(broker& b, const topics_args& a, const std::map<std::string, std::string>& config) {
  auto d = b.describe_topic(a.topic);
  if (!d) {
    if (d.error().code == errc::unknown_topic_or_partition && a.if_exists) return exit_ok;
    return report(cmd, d.error());
  }
  const auto now = static_cast<std::int32_t>(d->partitions.size());
  if (a.partitions && *a.partitions <= now)
    return report(cmd, make_error(errc::invalid_partitions,
                                  fmt::format("topic {} has {} partitions; --partitions {} would not grow it "
                                              "(partitions are never removed)",
                                              a.topic, now, *a.partitions)));
  if (!config.empty() || !a.delete_config.empty()) {
    if (auto s = b.alter_topic_config(a.topic, config, a.delete_config); !s.ok()) return report(cmd, s.error());
    std::printf("Altered config of topic %s.\n", a.topic.c_str());
  }
  if (a.partitions) {
    if (auto s = b.create_partitions(a.topic, *a.partitions); !s.ok()) return report(cmd, s.error());
    std::printf("Topic %s now has %d partitions.\n", a.topic.c_str(), *a.partitions);
  }
  return exit_ok;
}

}  // namespace

int run_topics(const context& ctx, const topics_args& a) {
  if (int rc = check_options(a); rc != exit_ok) return rc;
  auto config = parse_properties(cmd, "--config", a.config);
  if (!config) return exit_usage;
  // Only --create may bring a data directory into being.
  auto o = open_data_dir(ctx, cmd, a.create);
  if (!o.b) return o.rc;
  broker& b = *o.b;
  int rc = exit_ok;
  if (a.create) {
    rc = create(b, a, *config);
  } else if (a.list) {
    for (const auto& name : b.list_topics(a.include_internal)) std::printf("%s\n", name.c_str());
  } else if (a.describe) {
    rc = describe(b, a);
  } else if (a.del) {
    if (auto s = b.delete_topic(a.topic); !s.ok()) {
      if (!(s.error().code == errc::unknown_topic_or_partition && a.if_exists)) rc = report(cmd, s.error());
    } else {
      std::printf("Deleted topic %s.\n", a.topic.c_str());
    }
  } else if (a.alter) {
    rc = alter(b, a, *config);
  }
  if (auto s = b.close(); !s.ok() && rc == exit_ok) rc = report(cmd, s.error());
  return rc;
}

int run_delete_records(const context& ctx, const delete_records_args& a) {
  constexpr std::string_view dcmd = "delete-records";
  if (a.offset < -1) return report(dcmd, exit_usage, fmt::format("--offset {}: must be >= 0, or -1", a.offset));
  auto o = open_data_dir(ctx, dcmd);
  if (!o.b) return o.rc;
  broker& b = *o.b;
  offset before{a.offset};
  if (a.offset == -1) {
    // Kafka's -1: the high watermark, which for franz is the durable offset.
    auto p = b.find_partition(a.topic, a.partition);
    if (!p) return report(dcmd, p.error());
    before = (*p)->log().durable_offset();
  }
  auto low = b.delete_records(a.topic, a.partition, before);
  if (!low) return report(dcmd, low.error());
  std::printf("Partition: %s-%d\tlow_watermark: %lld\n", a.topic.c_str(), a.partition,
              static_cast<long long>(low->value()));
  if (auto s = b.close(); !s.ok()) return report(dcmd, s.error());
  return exit_ok;
}

}  // namespace franz::cli
