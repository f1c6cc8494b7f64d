// franz groups (kafka-consumer-groups.sh): list, describe, reset offsets,
// delete.
//
// Group membership lives in the process that runs the consumers, and this
// tool needs the data directory to itself, so the groups it sees have no
// members: what it shows and changes are committed offsets (which is also
// the only state Kafka lets its tool change: resets need an empty group).
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli.hpp"

namespace franz::cli {
namespace {

constexpr std::string_view cmd = "groups";

// Left-aligned columns, two spaces apart, as kafka-consumer-groups prints.
class table {
 public:
  explicit table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print() const {
    std::vector<std::size_t> width(rows_[0].size(), 0);
    for (const auto& r : rows_)
      for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    for (const auto& r : rows_) {
      std::string line;
      for (std::size_t i = 0; i < r.size(); ++i)
        line += i + 1 == r.size() ? r[i] : fmt::format("{:<{}}  ", r[i], width[i]);
      std::printf("%s\n", line.c_str());
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string or_dash(std::string_view s) { return s.empty() ? "-" : std::string(s); }

int check_options(const groups_args& a) {
  const bool target = a.to_earliest || a.to_latest || a.to_offset || a.to_datetime || a.shift_by;
  if (!a.list && a.group.empty() && !a.all_groups) return report(cmd, exit_usage, "--group or --all-groups is required");
  if (!a.group.empty() && a.all_groups) return report(cmd, exit_usage, "--group and --all-groups exclude each other");
  if ((a.members || a.state) && !(a.describe || (a.list && a.state && !a.members)))
    return report(cmd, exit_usage, "--members and --state apply to --describe (and --state to --list)");
  if (a.members && a.state) return report(cmd, exit_usage, "--members and --state exclude each other");
  if (!a.reset_offsets && (target || !a.topic.empty() || a.all_topics || a.dry_run || a.execute))
    return report(cmd, exit_usage, "--topic, --all-topics, --to-*, --dry-run and --execute apply only to --reset-offsets");
  if (a.reset_offsets) {
    if (!target)
      return report(cmd, exit_usage,
                    "--reset-offsets needs one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by");
    if (a.topic.empty() == !a.all_topics)
      return report(cmd, exit_usage, "--reset-offsets needs --topic (repeatable) or --all-topics");
    if (a.to_offset && *a.to_offset < 0) return report(cmd, exit_usage, "--to-offset must not be negative");
  }
  return exit_ok;
}

// YYYY-MM-DDTHH:mm:SS[.sss][Z|+hh:mm|-hh:mm] → ms since the epoch. Without
// a zone the time is local, as kafka-consumer-groups reads it.
std::optional<std::int64_t> parse_datetime(std::string_view s) {
  std::tm tm{};
  int ms = 0, consumed = 0;
  const std::string str(s);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6 || consumed != 19)
    return std::nullopt;
  std::string_view rest = s.substr(19);
  if (!rest.empty() && rest[0] == '.') {
    std::size_t i = 1;
    int digits = 0;
    for (; i < rest.size() && rest[i] >= '0' && rest[i] <= '9'; ++i, ++digits)
      if (digits < 3) ms = ms * 10 + (rest[i] - '0');
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) ms *= 10;
    rest.remove_prefix(i);
  }
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::int64_t secs = 0;
  if (rest.empty()) {
    tm.tm_isdst = -1;
    secs = std::mktime(&tm);
  } else if (rest == "Z") {
    secs = timegm(&tm);
  } else {
    int hh = 0, mm = 0;
    if (rest.size() != 6 || (rest[0] != '+' && rest[0] != '-') || rest[3] != ':' ||
        std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59)
      return std::nullopt;
    const int sign = rest[0] == '+' ? 1 : -1;
    secs = timegm(&tm) - sign * (hh * 3600 + mm * 60);
  }
  if (secs < 0) return std::nullopt;
  return secs * 1000 + ms;
}

// "topic" → every partition of it; "topic:0,2" → those.
result<std::vector<topic_partition>> reset_scope(broker& b, const groups_args& a) {
  std::vector<topic_partition> out;
  for (const auto& spec : a.topic) {
    const auto colon = spec.find(':');
    const std::string topic = spec.substr(0, colon);
    FRANZ_ASSIGN_OR_RETURN(auto d, b.describe_topic(topic));
    if (colon == std::string::npos) {
      for (const auto& p : d.partitions) out.push_back({topic, p.partition});
      continue;
    }
    std::string_view list = std::string_view(spec).substr(colon + 1);
    while (true) {
      const auto comma = list.find(',');
      const std::string_view item = list.substr(0, comma);
      std::int32_t p = -1;
      auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), p);
      if (ec != std::errc{} || end != item.data() + item.size() || p < 0)
        return make_error(errc::invalid_config, fmt::format("--topic '{}': '{}' is not a partition number", spec, item));
      FRANZ_TRY(b.find_partition(topic, p));
      out.push_back({topic, p});
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return out;
}

result<offset_spec> reset_target(const groups_args& a) {
  if (a.to_earliest) return offset_spec::earliest();
  if (a.to_latest) return offset_spec::latest();
  if (a.to_offset) return offset_spec::to(offset{*a.to_offset});
  if (a.shift_by) return offset_spec::shift(*a.shift_by);
  auto ms = parse_datetime(*a.to_datetime);
  if (!ms)
    return make_error(errc::invalid_config,
                      fmt::format("--to-datetime '{}': expected YYYY-MM-DDTHH:mm:SS[.sss][Z|+hh:mm]", *a.to_datetime));
  return offset_spec::at_time(timestamp{*ms});
}

int describe(broker& b, const std::vector<std::string>& ids, const groups_args& a) {
  for (const auto& id : ids) {
    auto d = b.groups().describe_group(id);
    if (!d) return report(cmd, d.error());
    if (a.state) {
      table t({"GROUP", "ASSIGNMENT-STRATEGY", "PROTOCOL", "STATE", "GENERATION", "#MEMBERS"});
      t.add({d->group_id, or_dash(d->assignor),
             d->protocol == rebalance_protocol::cooperative ? "cooperative" : "eager",
             std::string(group_state_name(d->state)), std::to_string(d->generation),
             std::to_string(d->members.size())});
      t.print();
    } else if (a.members) {
      table t({"GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT"});
      for (const auto& m : d->members) {
        std::string assignment;
        for (const auto& tp : m.assignment) assignment += fmt::format("{}{}-{}", assignment.empty() ? "" : ",", tp.topic, tp.partition);
        t.add({d->group_id, m.member_id, or_dash(m.group_instance_id.value_or("")), or_dash(m.client_id),
               std::to_string(m.assignment.size()), or_dash(assignment)});
      }
      if (d->members.empty()) std::printf("Consumer group '%s' has no active members.\n", id.c_str());
      else t.print();
    } else {
      if (d->members.empty()) std::printf("Consumer group '%s' has no active members.\n\n", id.c_str());
      table t({"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID"});
      for (const auto& p : d->partitions)
        t.add({d->group_id, p.tp.topic, std::to_string(p.tp.partition),
               p.committed ? std::to_string(p.committed->off.value()) : "-", std::to_string(p.log_end.value()),
               p.lag ? std::to_string(*p.lag) : "-", or_dash(p.owner)});
      t.print();
    }
    if (&id != &ids.back()) std::printf("\n");
  }
  return exit_ok;
}

int reset(broker& b, const std::vector<std::string>& ids, const groups_args& a) {
  auto spec = reset_target(a);
  if (!spec) return report(cmd, spec.error());
  std::vector<topic_partition> scope;
  if (!a.all_topics) {
    auto s = reset_scope(b, a);
    if (!s) return report(cmd, s.error());
    scope = std::move(*s);
  }
  // A dry run of every group first: one that cannot be reset stops the
  // command before any group has changed.
  table t({"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"});
  for (const auto& id : ids) {
    auto moved = b.groups().reset_offsets(id, scope, *spec, true);
    if (!moved) return report(cmd, moved.error());
    for (const auto& [tp, off] : *moved)
      t.add({id, tp.topic, std::to_string(tp.partition), std::to_string(off.value())});
  }
  if (a.execute) {
    for (const auto& id : ids)
      if (auto moved = b.groups().reset_offsets(id, scope, *spec, false); !moved) return report(cmd, moved.error());
  }
  t.print();
  if (!a.execute) std::fprintf(stderr, "franz groups: dry run, nothing changed (add --execute to commit these offsets)\n");
  return exit_ok;
}

}  // namespace

int run_groups(const context& ctx, const groups_args& a) {
  if (int rc = check_options(a); rc != exit_ok) return rc;
  auto o = open_data_dir(ctx, cmd);
  if (!o.b) return o.rc;
  broker& b = *o.b;
  std::vector<std::string> ids = a.group;
  if (a.all_groups || a.list) {
    ids.clear();
    for (const auto& g : b.groups().list_groups()) ids.push_back(g.group_id);
  }
  int rc = exit_ok;
  if (a.list) {
    if (a.state) {
      table t({"GROUP", "STATE"});
      for (const auto& g : b.groups().list_groups()) t.add({g.group_id, std::string(group_state_name(g.state))});
      t.print();
    } else {
      for (const auto& id : ids) std::printf("%s\n", id.c_str());
    }
  } else if (a.describe) {
    rc = describe(b, ids, a);
  } else if (a.reset_offsets) {
    rc = reset(b, ids, a);
  } else if (a.del) {
    for (const auto& id : ids) {  // every group must exist before any is deleted
      if (auto d = b.groups().describe_group(id); !d) {
        rc = report(cmd, d.error());
        ids.clear();
      }
    }
    for (const auto& id : ids) {
      if (auto s = b.groups().delete_group(id); !s.ok()) {
        rc = report(cmd, s.error());
        break;
      }
      std::printf("Deleted consumer group '%s' and its committed offsets.\n", id.c_str());
    }
  }
  if (auto s = b.close(); !s.ok() && rc == exit_ok) rc = report(cmd, s.error());
  return rc;
}

}  // namespace franz::cli
