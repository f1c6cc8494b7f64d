// franz example: a consumer. Assigns every partition of a topic, reads from
// the beginning, and stops once no record arrives for a while.
//
//   consumer [DATA_DIR] [TOPIC] [IDLE_MS]   defaults: /tmp/franz-demo demo 500
//
// Records are views into the log's mapped segments: valid until the next
// poll, copied only if the program keeps them.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <franz/franz.hpp>

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp/franz-demo";
  const std::string topic = argc > 2 ? argv[2] : "demo";
  const auto idle = std::chrono::milliseconds(argc > 3 ? std::atol(argv[3]) : 500);

  auto broker = franz::broker::open({.data_dir = dir, .create_if_missing = false});
  if (!broker) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(), broker.error().to_string().c_str());
    return 1;
  }
  auto description = (*broker)->describe_topic(topic);
  if (!description) {
    std::fprintf(stderr, "%s\n", description.error().to_string().c_str());
    return 1;
  }
  std::vector<franz::topic_partition> partitions;
  for (const auto& p : description->partitions) partitions.push_back({topic, p.partition});

  auto consumer = franz::consumer::create(
      **broker, {.auto_offset_reset = franz::offset_reset::earliest, .isolation = franz::isolation_level::read_durable});
  if (!consumer || !(*consumer)->assign(partitions).ok()) {
    std::fprintf(stderr, "consumer setup failed\n");
    return 1;
  }
  std::map<int, long> per_partition;
  long total = 0;
  for (;;) {
    auto records = (*consumer)->poll(idle);
    if (!records) {
      std::fprintf(stderr, "poll: %s\n", records.error().to_string().c_str());
      return 1;
    }
    if (records->empty()) break;  // idle: caught up
    for (const auto& r : *records) {
      if (total < 5) {
        std::printf("%.*s-%d@%lld key=%.*s value=%.*s", static_cast<int>(r.topic.size()), r.topic.data(),
                    r.partition, static_cast<long long>(r.off.value()), static_cast<int>(r.key.size()),
                    r.key.data(), static_cast<int>(r.value.size()), r.value.data());
        auto headers = r.headers();
        franz::record_header h;
        while (headers.next(h))
          std::printf(" [%.*s=%.*s]", static_cast<int>(h.key.size()), h.key.data(),
                      static_cast<int>(h.value.size()), h.value.data());
        std::printf("\n");
      }
      ++per_partition[r.partition];
      ++total;
    }
  }
  std::printf("consumed %ld records;", total);
  for (const auto& [p, n] : per_partition) std::printf(" partition %d: %ld", p, n);
  std::printf("\n");
  return 0;
}
