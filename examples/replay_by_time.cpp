// franz example: replay a topic from a point in time.
//
//   replay_by_time [DATA_DIR] [MINUTES_AGO] [TOPIC]
//       defaults: /tmp/franz-examples/replay_by_time 15 (a topic it writes)
//
// What it shows: consumer::offsets_for_times, Kafka's way to turn a time
// into offsets ("reprocess everything since 14:05"). Without TOPIC it
// (re)creates the topic "readings" (3 partitions) and writes a simulated
// hour of sensor readings with explicit timestamps (producer_record::ts,
// CreateTime), each partition at its own pace, ending now. With TOPIC it
// reads that existing topic instead (for example the producer example's
// "demo" in /tmp/franz-demo), writing nothing.
//
// Then, for T = now - MINUTES_AGO, it asks offsets_for_times for the first
// offset of each partition whose timestamp is at or after T, seeks each
// partition there and replays up to the log end, printing what it found per
// partition and the first two records it replays of each. It checks what
// the lookup promises: the record just before each start offset is older
// than T, and (for the topic it wrote, whose timestamps rise within each
// partition) no replayed record is older than T. Exits 1 if a check fails.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <franz/franz.hpp>

namespace {

using namespace std::chrono_literals;

// "14:05:09.123 UTC" for a timestamp in ms since the epoch.
std::string clock_time(franz::timestamp ts) {
  const std::time_t secs = static_cast<std::time_t>(ts.value() / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03d UTC", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ts.value() % 1000));
  return buf;
}

std::string age(std::int64_t now_ms, franz::timestamp ts) {
  const std::int64_t s = (now_ms - ts.value()) / 1000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lldm%02llds ago", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  return buf;
}

// Writes an hour of readings ending at now_ms: partition p gets one every
// 2 + p seconds, so the partitions hold different counts and their records
// fall at different times. Timestamps rise within each partition.
franz::status write_hour(franz::broker& b, const std::string& topic, std::int32_t partitions, std::int64_t now_ms,
                         long& written) {
  auto producer = franz::producer::create(b, {.acks = franz::ack::leader, .linger_ms = 5});
  if (!producer) return std::move(producer).error();
  const std::int64_t hour_ago = now_ms - 3600 * 1000;
  for (std::int32_t p = 0; p < partitions; ++p) {
    const std::int64_t step_ms = (2 + p) * 1000;
    for (std::int64_t ts = hour_ago + 137 * p; ts <= now_ms; ts += step_ms) {
      const std::string key = "sensor-" + std::to_string(p);
      const std::string value = "reading " + std::to_string(written) + " temp=" + std::to_string(18 + written % 7);
      // An explicit partition and timestamp: the record's CreateTime is
      // when the reading was taken, not when it is written.
      if (auto s = (*producer)->send(
              {.topic = topic, .partition = p, .ts = franz::timestamp{ts}, .key = key, .value = value});
          !s.ok())
        return s;
      ++written;
    }
  }
  // close() appends what lingers and waits for every acknowledgement.
  return (*producer)->close();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp/franz-examples/replay_by_time";
  const double minutes = argc > 2 ? std::atof(argv[2]) : 15;
  const bool existing = argc > 3;
  const std::string topic = existing ? argv[3] : "readings";
  if (minutes < 0) {
    std::fprintf(stderr, "usage: replay_by_time [DATA_DIR] [MINUTES_AGO >= 0] [TOPIC]\n");
    return 2;
  }

  // The broker creates its data directory, but not the parents.
  if (std::error_code ec; !existing && !std::filesystem::create_directories(dir, ec) && ec) {
    std::fprintf(stderr, "create %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  auto broker = franz::broker::open({.data_dir = dir, .create_if_missing = !existing});
  if (!broker) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(), broker.error().to_string().c_str());
    return 1;
  }
  auto& b = **broker;
  const std::int64_t now_ms = b.clk().now_ms();

  if (!existing) {
    // A fresh topic each run: the simulated hour ends now.
    if (auto s = b.delete_topic(topic); !s.ok() && s.code() != franz::errc::unknown_topic_or_partition) {
      std::fprintf(stderr, "delete topic: %s\n", s.error().to_string().c_str());
      return 1;
    }
    if (auto s = b.create_topic(topic, 3); !s.ok()) {
      std::fprintf(stderr, "create topic: %s\n", s.error().to_string().c_str());
      return 1;
    }
    long written = 0;
    if (auto s = write_hour(b, topic, 3, now_ms, written); !s.ok()) {
      std::fprintf(stderr, "write: %s\n", s.error().to_string().c_str());
      return 1;
    }
    std::printf("wrote %ld readings to %s (3 partitions) with timestamps from %s to %s\n", written, topic.c_str(),
                clock_time(franz::timestamp{now_ms - 3600 * 1000}).c_str(),
                clock_time(franz::timestamp{now_ms}).c_str());
  }

  auto description = b.describe_topic(topic);
  if (!description) {
    std::fprintf(stderr, "%s\n", description.error().to_string().c_str());
    return 1;
  }
  std::vector<franz::topic_partition> tps;
  for (const auto& p : description->partitions) tps.push_back({topic, p.partition});

  // A consumer with no group: assign() every partition; positions are set
  // with seek below, so auto.offset.reset does not matter.
  auto consumer = franz::consumer::create(b, {.max_poll_records = 1000});
  if (!consumer) {
    std::fprintf(stderr, "consumer: %s\n", consumer.error().to_string().c_str());
    return 1;
  }
  auto& c = **consumer;
  if (auto s = c.assign(tps); !s.ok()) {
    std::fprintf(stderr, "assign: %s\n", s.error().to_string().c_str());
    return 1;
  }

  // The question: per partition, the first offset whose timestamp is >= T.
  const franz::timestamp since{now_ms - static_cast<std::int64_t>(minutes * 60 * 1000)};
  std::printf("replaying %s from %s (%.1f minutes ago)\n", topic.c_str(), clock_time(since).c_str(), minutes);
  std::map<franz::topic_partition, franz::timestamp> query;
  for (const auto& tp : tps) query[tp] = since;
  auto found = c.offsets_for_times(query);
  if (!found) {
    std::fprintf(stderr, "offsets_for_times: %s\n", found.error().to_string().c_str());
    return 1;
  }
  auto starts = c.beginning_offsets(tps);
  auto ends = c.end_offsets(tps);  // replay up to the log end as it is now
  if (!starts || !ends) {
    std::fprintf(stderr, "offsets: %s\n", (!starts ? starts.error() : ends.error()).to_string().c_str());
    return 1;
  }

  // Seek each partition to its start offset, or one record earlier to
  // check that record too (it must be older than T: it is read and checked,
  // not replayed). A partition with nothing that late is not replayed.
  std::map<std::int32_t, std::int64_t> first_replayed;  // partition -> start offset
  std::vector<franz::topic_partition> idle;
  for (const auto& tp : tps) {
    const auto& answer = found->at(tp);
    const std::int64_t log_start = starts->at(tp).value(), log_end = ends->at(tp).value();
    if (!answer) {
      std::printf("partition %d: no record at or after %s (log %lld..%lld): nothing to replay\n", tp.partition,
                  clock_time(since).c_str(), static_cast<long long>(log_start), static_cast<long long>(log_end));
      idle.push_back(tp);
      continue;
    }
    const std::int64_t off = answer->off.value();
    std::printf("partition %d: first offset at or after %s is %lld (timestamp %s, %s); log %lld..%lld: %lld records "
                "to replay\n",
                tp.partition, clock_time(since).c_str(), static_cast<long long>(off), clock_time(answer->ts).c_str(),
                age(now_ms, answer->ts).c_str(), static_cast<long long>(log_start), static_cast<long long>(log_end),
                static_cast<long long>(log_end - off));
    first_replayed[tp.partition] = off;
    if (auto s = c.seek(tp, franz::offset{off > log_start ? off - 1 : off}); !s.ok()) {
      std::fprintf(stderr, "seek: %s\n", s.error().to_string().c_str());
      return 1;
    }
  }
  // Partitions with nothing to replay are paused: poll leaves them alone.
  if (!idle.empty()) {
    if (auto s = c.pause(idle); !s.ok()) {
      std::fprintf(stderr, "pause: %s\n", s.error().to_string().c_str());
      return 1;
    }
  }

  // Replay until every partition reaches the end offset it had above.
  std::map<std::int32_t, long> replayed;
  long total = 0, too_old = 0, before_ok = 0, before_bad = 0;
  auto done = [&] {
    for (const auto& kv : first_replayed) {
      auto pos = c.position({topic, kv.first});
      if (!pos || pos->value() < ends->at({topic, kv.first}).value()) return false;
    }
    return true;
  };
  int idle_polls = 0;
  while (!done()) {
    auto records = c.poll(200ms);
    if (!records) {
      std::fprintf(stderr, "poll: %s\n", records.error().to_string().c_str());
      return 1;
    }
    if (records->empty() && ++idle_polls == 10) {
      std::fprintf(stderr, "poll: no records for 2 s before the end offsets were reached\n");
      return 1;
    }
    for (const auto& r : *records) {
      const std::int64_t start = first_replayed.at(r.partition);
      if (r.off.value() < start) {
        // The record just before the start offset: the lookup promises it
        // is older than T, else it would have been the answer.
        if (r.ts < since) {
          ++before_ok;
        } else {
          ++before_bad;
          std::printf("CHECK: partition %d offset %lld, before the start offset, has timestamp %s, not before %s\n",
                      r.partition, static_cast<long long>(r.off.value()), clock_time(r.ts).c_str(),
                      clock_time(since).c_str());
        }
        continue;
      }
      if (r.off.value() >= ends->at({topic, r.partition}).value()) continue;  // appended since: not this replay
      if (r.ts < since) ++too_old;
      if (replayed[r.partition] < 2) {  // the first two of each partition
        std::printf("  replay %s-%d@%lld  %s (%s)  key=%.*s value=%.*s\n", topic.c_str(), r.partition,
                    static_cast<long long>(r.off.value()), clock_time(r.ts).c_str(), age(now_ms, r.ts).c_str(),
                    static_cast<int>(r.key.size()), r.key.data(), static_cast<int>(r.value.size()), r.value.data());
      }
      ++replayed[r.partition];
      ++total;
    }
  }

  long expected = 0, earlier_records = 0;
  for (const auto& kv : first_replayed) {
    expected += ends->at({topic, kv.first}).value() - kv.second;
    if (kv.second > starts->at({topic, kv.first}).value()) ++earlier_records;
  }
  std::printf("replayed %ld records;", total);
  for (const auto& kv : replayed) std::printf(" partition %d: %ld", kv.first, kv.second);
  std::printf("\n");
  if (existing && too_old > 0)
    std::printf("note: %ld replayed records are older than %s: this topic's timestamps are not in order\n", too_old,
                clock_time(since).c_str());

  // For a topic whose timestamps rise (the one written above) a replayed
  // record older than T would be a wrong answer; an existing topic may hold
  // records out of time order, which Kafka allows.
  const bool ok = total == expected && before_ok == earlier_records && before_bad == 0 && (existing || too_old == 0);
  if (!ok) {
    std::printf("check FAILED: replayed %ld of %ld records, %ld older than %s, %ld of %ld records before the start "
                "offsets older\n",
                total, expected, too_old, clock_time(since).c_str(), before_ok, earlier_records);
    return 1;
  }
  std::printf("check OK: %s; the record before each start offset is older (%ld checked)\n",
              existing ? "replayed every record from the start offsets"
                       : "no replayed record is older than the requested time",
              earlier_records);
  return 0;
}
