// franz — broker: a data directory of topics and partitions, and the admin
// operations on it. The object an application opens first.
//
//   auto b = franz::broker::open({.data_dir = "/var/lib/app/franz"});
//   (void)(*b)->create_topic("events", 4, {{"retention.ms", "86400000"}});
//   auto p = franz::producer::create(**b, {});
//   auto c = franz::consumer::create(**b, {});
//
// The name is Kafka's: a broker owns log dirs, topics and partitions, and
// serves producers and consumers; this one does it in-process, with no
// network. Each partition is a franz::log in <data_dir>/<topic>-<n>.
// Topics, their partition counts and config overrides live in
// <data_dir>/topics.meta, replaced atomically on every change, so a reopen
// restores exactly the topics whose creation returned (see doc/messaging.md
// for the order of the file operations and what a crash leaves).
//
// Admin calls carry Kafka's names and errors: INVALID_TOPIC_EXCEPTION,
// TOPIC_ALREADY_EXISTS, UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS,
// INVALID_CONFIG.
//
// Thread-safety: every member is safe from any thread. Admin calls are
// serialized by one mutex; producers and consumers never take it on their
// hot paths. Lifetime: producers and consumers created on a broker must be
// closed or destroyed before it. Deleting a topic is safe while producers
// and consumers use it: their calls then fail with
// UNKNOWN_TOPIC_OR_PARTITION.
#pragma once

#include <atomic>
#include <compare>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "franz/error.hpp"
#include "franz/format/topics_meta.hpp"
#include "franz/messaging/partition.hpp"
#include "franz/storage/config.hpp"
#include "franz/types.hpp"

namespace franz {

class group_coordinator;

// The internal topic of committed offsets (see group_coordinator.hpp). It is
// not listed by list_topics(), and producers and admin calls that would
// change it (delete, add partitions, alter config, delete records) get
// INVALID_TOPIC_EXCEPTION.
inline constexpr std::string_view offsets_topic = "__consumer_offsets";

// A topic and a partition number, as in Kafka's TopicPartition.
struct topic_partition {
  std::string topic;
  std::int32_t partition = 0;
  friend auto operator<=>(const topic_partition&, const topic_partition&) = default;
};

struct broker_options {
  // Kafka: log.dirs. Created (0700) if missing and create_if_missing; its
  // parent must exist.
  std::string data_dir = "/tmp/franz-data";
  bool create_if_missing = true;
  // Topic config defaults (Kafka's broker-level log.* settings); a topic's
  // own config overrides them key by key.
  log_config log_defaults{};
  // num.partitions: create_topic's partition count when it is given -1.
  std::int32_t num_partitions = 1;
  // Time source for every log, producer and consumer of this broker.
  const clock* clk = &system_clock::instance();
  // A background thread runs tick() every maintenance_interval_ms
  // (flush.ms, segment.ms, retention.ms/bytes). false: the application
  // calls tick() itself (tick-driven mode, no background thread).
  bool background_maintenance = true;
  std::int64_t maintenance_interval_ms = 100;
  // Passed to every log (see log_options).
  bool verify_all = false;
  bool repair = false;
  bool bounded_residency = true;
};

struct partition_description {
  std::int32_t partition = 0;
  offset log_start;
  offset log_end;
  offset durable;  // the high watermark: fsynced
  std::uint64_t size_bytes = 0;
  std::size_t segments = 0;
};

struct topic_description {
  std::string name;
  std::uint64_t topic_id = 0;
  std::vector<partition_description> partitions;
  std::map<std::string, std::string> config;     // every key, effective value
  std::map<std::string, std::string> overrides;  // the topic's own settings
};

namespace detail {
// One incarnation of a topic, as producers and consumers see it. Immutable:
// a change (partitions added, config altered) publishes a new one.
struct topic_state {
  std::string name;
  std::uint64_t topic_id = 0;
  log_config config;
  std::map<std::string, std::string> overrides;
  std::vector<std::shared_ptr<partition>> partitions;
};
}  // namespace detail

class broker {
 public:
  broker(const broker&) = delete;
  broker& operator=(const broker&) = delete;
  ~broker();

  // Opens (creating if allowed) the data directory: reads topics.meta,
  // opens every partition's log (running its recovery), and removes what an
  // interrupted create, delete or add-partitions left behind. Errors:
  // INVALID_CONFIG, INVALID_LOG_DIR, LOG_DIR_LOCKED (another broker has it),
  // CORRUPT_MESSAGE (a damaged topics.meta, or a log damaged below its
  // recovery point), FOREIGN_FILE, KAFKA_STORAGE_ERROR.
  template <class FS = io::posix_fs>
  [[nodiscard]] static result<std::unique_ptr<broker>> open(broker_options opts, FS& fs = FS::instance()) {
    return open_with(std::move(opts), std::make_unique<detail::fs_env<FS>>(fs));
  }

  // --- admin ------------------------------------------------------------------
  //
  // The changing calls (create_topic, delete_topic, create_partitions,
  // alter_topic_config) are durable on return. If one fails with
  // KAFKA_STORAGE_ERROR after topics.meta was replaced (its directory fsync
  // failed), the change is kept — this broker shows what the disk shows —
  // and further changing calls fail with KAFKA_STORAGE_ERROR until the
  // broker is reopened; any other failure changes nothing. Partitions such
  // a failed create_topic or create_partitions made are not durable (a
  // power loss can remove them with the change), so until the reopen every
  // write to them (sends, commits to a failed __consumer_offsets,
  // delete_records) fails with KAFKA_STORAGE_ERROR too: nothing in them is
  // ever acknowledged.

  // Creates a topic of `partitions` partitions (-1: num.partitions) with
  // config overrides (Kafka topic keys). Errors: INVALID_TOPIC_EXCEPTION,
  // TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_CONFIG, OUT_OF_SPACE /
  // KAFKA_STORAGE_ERROR.
  [[nodiscard]] status create_topic(std::string_view name, std::int32_t partitions = -1,
                                    const std::map<std::string, std::string>& config = {});
  // Deletes a topic and its data. Producers and consumers using it get
  // UNKNOWN_TOPIC_OR_PARTITION from then on.
  [[nodiscard]] status delete_topic(std::string_view name);
  // Topic names, sorted; internal topics (__consumer_offsets) only if asked.
  [[nodiscard]] std::vector<std::string> list_topics(bool include_internal = false) const;
  [[nodiscard]] result<topic_description> describe_topic(std::string_view name) const;
  // Grows a topic to `total` partitions (Kafka's createPartitions); never
  // shrinks. INVALID_PARTITIONS if total is not larger than the count now.
  [[nodiscard]] status create_partitions(std::string_view name, std::int32_t total);
  // Kafka's incrementalAlterConfigs: sets the keys in `set`, returns the
  // keys in `reset` to the broker default. Validated as a whole first
  // (INVALID_CONFIG changes nothing), persisted, then applied to the open
  // logs.
  [[nodiscard]] status alter_topic_config(std::string_view name, const std::map<std::string, std::string>& set,
                                          const std::vector<std::string>& reset = {});
  // Kafka's deleteRecords: moves the partition's log start to `before`.
  // Returns the new log start (the low watermark).
  [[nodiscard]] result<offset> delete_records(std::string_view topic, std::int32_t partition, offset before);

  // Time-driven work on every log (flush.ms, segment.ms, retention). The
  // background thread calls it; in tick-driven mode the application does.
  // Returns the first error; the other logs are still ticked.
  [[nodiscard]] status tick();

  // Closes every log (flushing it). Idempotent; the destructor calls it.
  [[nodiscard]] status close();

  // Consumer groups: membership, committed offsets and their admin calls
  // (list, describe, reset offsets, delete).
  [[nodiscard]] group_coordinator& groups() noexcept { return *groups_; }
  [[nodiscard]] const group_coordinator& groups() const noexcept { return *groups_; }

  [[nodiscard]] const broker_options& options() const noexcept { return opts_; }
  [[nodiscard]] const clock& clk() const noexcept { return *opts_.clk; }

  // --- for producers and consumers ---------------------------------------------

  // The current incarnation of a topic; UNKNOWN_TOPIC_OR_PARTITION if none.
  [[nodiscard]] result<std::shared_ptr<const detail::topic_state>> find_topic(std::string_view name) const;
  // One partition of the current incarnation; UNKNOWN_TOPIC_OR_PARTITION if
  // the topic or the partition does not exist.
  [[nodiscard]] result<std::shared_ptr<detail::partition>> find_partition(std::string_view topic,
                                                                          std::int32_t partition) const;
  // Bumped on every topic change; clients re-resolve cached topics when it
  // moves.
  [[nodiscard]] std::uint64_t metadata_version() const noexcept {
    return metadata_version_.load(std::memory_order_acquire);
  }
  [[nodiscard]] bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

 private:
  friend class group_coordinator;  // creates the internal topic

  broker(broker_options opts, std::unique_ptr<detail::storage_env> env);
  // Creates an internal topic (one partition, compacted).
  [[nodiscard]] status create_internal_topic(std::string_view name);
  [[nodiscard]] status delete_topic_impl(std::string_view name);
  [[nodiscard]] status create_topic_impl(std::string_view name, std::int32_t partitions,
                                         const std::map<std::string, std::string>& config);
  [[nodiscard]] static result<std::unique_ptr<broker>> open_with(broker_options opts,
                                                                 std::unique_ptr<detail::storage_env> env);
  [[nodiscard]] status load();
  // The topic named `name` (mu_ held); UNKNOWN_TOPIC_OR_PARTITION, or
  // ILLEGAL_STATE once closed.
  [[nodiscard]] result<std::shared_ptr<const detail::topic_state>> find_locked(std::string_view name) const;
  [[nodiscard]] status persist(const format::topics_meta& m);
  [[nodiscard]] format::topics_meta meta_without(std::string_view skip) const;
  [[nodiscard]] result<log_config> effective_config(const std::map<std::string, std::string>& overrides) const;
  [[nodiscard]] result<std::shared_ptr<detail::partition>> open_partition(const std::string& topic, std::int32_t p,
                                                                          const log_config& cfg, bool fresh);
  [[nodiscard]] std::string path_of(std::string_view entry) const;
  [[nodiscard]] status remove_partition_dirs(const std::string& topic, std::int32_t from, std::int32_t to,
                                             std::uint64_t topic_id);
  [[nodiscard]] status check_open() const;
  // check_open, and KAFKA_STORAGE_ERROR after a failed topics.meta fsync.
  [[nodiscard]] status check_admin() const;
  void publish(std::shared_ptr<const detail::topic_state> t);
  void maintenance_loop();

  broker_options opts_;
  std::unique_ptr<detail::storage_env> env_;
  mutable std::mutex mu_;  // admin calls; guards topics_ and next_topic_id_
  std::map<std::string, std::shared_ptr<const detail::topic_state>, std::less<>> topics_;
  std::uint64_t next_topic_id_ = 1;
  bool metadata_failed_ = false;  // mu_; see persist()
  std::atomic<std::uint64_t> metadata_version_{1};
  std::atomic<bool> closed_{false};
  std::mutex maint_mu_;
  std::condition_variable maint_cv_;
  bool maint_stop_ = false;
  std::thread maint_;
  std::unique_ptr<group_coordinator> groups_;
};

}  // namespace franz
