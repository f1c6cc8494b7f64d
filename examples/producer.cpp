// franz example: a producer. Opens (or creates) a data directory, makes sure
// the topic exists, sends records with keys, and reports where they landed.
//
//   producer [DATA_DIR] [COUNT] [TOPIC]     defaults: /tmp/franz-demo 10 demo
//
// Keys spread records over the partitions (murmur2, as Kafka does); acks=all
// means a record's callback runs once it is fsynced.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include <franz/franz.hpp>

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp/franz-demo";
  const long count = argc > 2 ? std::atol(argv[2]) : 10;
  const std::string topic = argc > 3 ? argv[3] : "demo";

  auto broker = franz::broker::open({.data_dir = dir});
  if (!broker) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(), broker.error().to_string().c_str());
    return 1;
  }
  if (auto s = (*broker)->create_topic(topic, 3, {{"retention.ms", "604800000"}});
      !s.ok() && s.code() != franz::errc::topic_already_exists) {
    std::fprintf(stderr, "create topic: %s\n", s.error().to_string().c_str());
    return 1;
  }

  auto producer = franz::producer::create(**broker, {.acks = franz::ack::all, .linger_ms = 5});
  if (!producer) {
    std::fprintf(stderr, "producer: %s\n", producer.error().to_string().c_str());
    return 1;
  }
  std::map<int, long> per_partition;  // written by the producer's I/O thread
  long failed = 0;
  for (long i = 0; i < count; ++i) {
    const std::string key = "user-" + std::to_string(i % 4);
    const std::string value = "event " + std::to_string(i);
    const franz::record_header headers[] = {{"source", "example"}};
    auto s = (*producer)->send({.topic = topic, .key = key, .value = value, .headers = headers},
                               [&, i, key](const franz::result<franz::record_metadata>& md) {
                                 if (!md) {
                                   ++failed;
                                   std::fprintf(stderr, "record %ld: %s\n", i, md.error().to_string().c_str());
                                   return;
                                 }
                                 ++per_partition[md->partition];
                                 if (i < 5)
                                   std::printf("sent %s -> %.*s-%d at offset %lld\n", key.c_str(),
                                               static_cast<int>(md->topic.size()), md->topic.data(), md->partition,
                                               static_cast<long long>(md->off.value()));
                               });
    if (!s.ok()) {
      std::fprintf(stderr, "send: %s\n", s.error().to_string().c_str());
      return 1;
    }
  }
  // close() waits until every record is acknowledged (fsynced, for acks=all).
  if (auto s = (*producer)->close(); !s.ok()) {
    std::fprintf(stderr, "close: %s\n", s.error().to_string().c_str());
    return 1;
  }
  std::printf("%ld records acknowledged durable, %ld failed;", count - failed, failed);
  for (const auto& [p, n] : per_partition) std::printf(" partition %d: %ld", p, n);
  std::printf("\n");
  return failed == 0 ? 0 : 1;
}
