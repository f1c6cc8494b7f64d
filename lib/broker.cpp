// franz — the broker: topics metadata, partition logs, admin operations.
#include "franz/messaging/broker.hpp"

#include "franz/messaging/group_coordinator.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace franz {

namespace {

// Linux's NAME_MAX: a partition directory name must fit in it.
constexpr std::size_t max_entry_name = 255;

status check_topic_name(std::string_view name) {
  if (const char* why = format::topic_name_problem(name))
    return make_error(errc::invalid_topic_exception,
                      fmt::format("'{}' is not a valid topic name: {}", name.substr(0, 300), why));
  return {};
}

status check_not_internal(std::string_view name) {
  if (name == offsets_topic)
    return make_error(errc::invalid_topic_exception,
                      fmt::format("'{}' is franz's internal topic of committed offsets; use the groups API", name));
  return {};
}

status check_partition_count(std::string_view topic, std::int32_t n) {
  if (n < 1 || n > format::max_partitions)
    return make_error(errc::invalid_partitions,
                      fmt::format("{} partitions for '{}': the count must be in [1, {}]", n, topic,
                                  format::max_partitions));
  if (format::partition_dir(topic, n - 1).size() > max_entry_name)
    return make_error(errc::invalid_partitions,
                      fmt::format("{} partitions for '{}': directory names would exceed {} bytes", n, topic,
                                  max_entry_name));
  return {};
}

// "<topic>-<n>.<id>-delete", with the topic shortened if needed to fit in a
// directory name (only the suffix is parsed back).
std::string deleted_dir_name(std::string_view topic, std::int32_t p, std::uint64_t id) {
  std::string name = format::deleted_partition_dir(topic, p, id);
  if (name.size() > max_entry_name) name = format::deleted_partition_dir(topic.substr(0, 200), p, id);
  return name;
}

}  // namespace

broker::broker(broker_options opts, std::unique_ptr<detail::storage_env> env)
    : opts_(std::move(opts)), env_(std::move(env)) {}

broker::~broker() { (void)close(); }

result<std::unique_ptr<broker>> broker::open_with(broker_options opts, std::unique_ptr<detail::storage_env> env) {
  FRANZ_TRY(opts.log_defaults.validate());
  if (opts.num_partitions < 1 || opts.num_partitions > format::max_partitions)
    return make_error(errc::invalid_config, fmt::format("num.partitions: {} is outside [1, {}]", opts.num_partitions,
                                                        format::max_partitions));
  if (opts.maintenance_interval_ms < 1)
    return make_error(errc::invalid_config,
                      fmt::format("maintenance_interval_ms: {} is below 1", opts.maintenance_interval_ms));
  if (opts.data_dir.empty()) return make_error(errc::invalid_log_dir, "data_dir is empty");
  if (opts.clk == nullptr) return make_error(errc::invalid_config, "clk is null");
  while (opts.data_dir.size() > 1 && opts.data_dir.back() == '/') opts.data_dir.pop_back();
  std::unique_ptr<broker> b(new broker(std::move(opts), std::move(env)));
  b->groups_ = std::make_unique<group_coordinator>(*b);
  auto loaded = b->load();
  if (loaded.ok()) loaded = b->groups_->load();
  if (auto s = std::move(loaded); !s.ok()) {
    b->closed_ = true;
    {
      std::lock_guard g(b->mu_);
      for (auto& [name, t] : b->topics_)
        for (auto& p : t->partitions) (void)p->mark_deleted_and_close();
      b->topics_.clear();
    }
    b->env_->release_lock();
    return std::move(s).error();
  }
  if (b->opts_.background_maintenance) b->maint_ = std::thread([p = b.get()] { p->maintenance_loop(); });
  return b;
}

std::string broker::path_of(std::string_view entry) const { return fmt::format("{}/{}", opts_.data_dir, entry); }

status broker::check_open() const {
  if (closed()) return make_error(errc::illegal_state, fmt::format("{}: the broker is closed", opts_.data_dir));
  return {};
}

result<log_config> broker::effective_config(const std::map<std::string, std::string>& overrides) const {
  log_config c = opts_.log_defaults;
  FRANZ_TRY(c.apply(overrides));
  return c;
}

result<std::shared_ptr<detail::partition>> broker::open_partition(const std::string& topic, std::int32_t p,
                                                                   const log_config& cfg, bool fresh) {
  const std::string dir = path_of(format::partition_dir(topic, p));
  if (fresh) {
    // A new partition's directory is not in topics.meta, so anything under
    // its name is a leftover (a delete whose rename failed): never reuse it.
    FRANZ_ASSIGN_OR_RETURN(const io::path_type t, env_->stat(dir));
    if (t != io::path_type::missing) FRANZ_TRY(env_->remove_dir(dir));
  }
  log_options o;
  o.config = cfg;
  o.clk = opts_.clk;
  o.create_if_missing = true;
  o.verify_all = opts_.verify_all;
  o.repair = opts_.repair;
  o.bounded_residency = opts_.bounded_residency;
  FRANZ_ASSIGN_OR_RETURN(auto log, env_->open_log(dir, o));
  return std::make_shared<detail::partition>(topic, p, std::move(log));
}

status broker::load() {
  const std::string& dir = opts_.data_dir;
  FRANZ_ASSIGN_OR_RETURN(const io::path_type type, env_->stat(dir));
  if (type == io::path_type::missing) {
    if (!opts_.create_if_missing) return make_error(errc::invalid_log_dir, fmt::format("{}: no such directory", dir));
    FRANZ_TRY(env_->make_dir_durable(dir));
  } else if (type != io::path_type::directory) {
    return make_error(errc::invalid_log_dir, fmt::format("{}: not a directory", dir));
  }
  FRANZ_ASSIGN_OR_RETURN(auto names, env_->list_dir(dir));
  // Refuse strangers before changing anything.
  for (const auto& n : names) {
    if (format::parse_data_entry(n).kind == format::data_entry_kind::foreign)
      return make_error(errc::foreign_file, fmt::format("{}: '{}' is not a franz file; move it away", dir, n));
  }
  if (auto s = env_->lock(path_of(format::lock_file)); !s.ok()) {
    auto e = std::move(s).error();
    if (e.code == errc::log_dir_locked)
      e.message = fmt::format("{}: another broker (this or another process) has the data directory open", dir);
    return e;
  }

  format::topics_meta meta;
  auto bytes = env_->read_file(path_of(format::topics_file), format::max_topics_file_size);
  if (!bytes && bytes.error().sys_errno != ENOENT) return std::move(bytes).error();
  if (bytes) {
    auto m = format::decode_topics(*bytes);
    if (!m)
      return make_error(errc::corrupt_message,
                        fmt::format("{}: {} is damaged (checksum or structure); the topics it lists cannot be "
                                    "trusted", dir, format::topics_file));
    meta = std::move(*m);
  } else {
    for (const auto& n : names) {
      if (format::parse_data_entry(n).kind == format::data_entry_kind::partition)
        return make_error(errc::corrupt_message,
                          fmt::format("{}: {} is missing but partition directories (such as '{}') exist", dir,
                                      format::topics_file, n));
    }
    FRANZ_TRY(persist(meta));
  }

  // Remove what interrupted operations left: deleted partitions, partition
  // directories of topics (or partitions) the topics file does not list
  // (a create or add-partitions that did not reach the topics file, or a
  // delete that did), and a half-written topics file. The removals need no
  // directory fsync: a power loss can only bring a leftover back, and the
  // next open removes it by the same rule; its name is reused only by
  // create_topic / add_partitions, which clear the name and fsync the
  // directory before the topics file lists it.
  std::map<std::string, std::int32_t, std::less<>> counts;
  for (const auto& t : meta.topics) counts[t.name] = t.partitions;
  for (const auto& n : names) {
    const auto e = format::parse_data_entry(n);
    bool remove = false;
    if (e.kind == format::data_entry_kind::deleted_partition) remove = true;
    if (e.kind == format::data_entry_kind::partition) {
      auto it = counts.find(e.topic);
      remove = it == counts.end() || e.partition >= it->second;
    }
    if (e.kind == format::data_entry_kind::temporary) {
      // A leftover topics.meta.tmp is gone already if topics.meta was
      // missing: persisting the empty one above wrote and renamed it.
      if (auto s = env_->unlink(path_of(n)); !s.ok() && s.error().sys_errno != ENOENT) return s;
    }
    if (remove) FRANZ_TRY(env_->remove_dir(path_of(n)));
  }

  next_topic_id_ = meta.next_topic_id;
  for (const auto& t : meta.topics) {
    auto cfg = effective_config(t.config);
    if (!cfg)
      return make_error(errc::invalid_config,
                        fmt::format("{}: topic '{}': {}", dir, t.name, cfg.error().message));
    auto state = std::make_shared<detail::topic_state>();
    state->name = t.name;
    state->topic_id = t.topic_id;
    state->config = *cfg;
    state->overrides = t.config;
    for (std::int32_t p = 0; p < t.partitions; ++p) {
      auto part = open_partition(t.name, p, *cfg, /*fresh=*/false);
      if (!part) {
        topics_.emplace(t.name, state);  // so the caller closes what opened
        return std::move(part).error();
      }
      state->partitions.push_back(std::move(*part));
    }
    topics_.emplace(t.name, std::move(state));
  }
  return {};
}

status broker::persist(const format::topics_meta& m) {
  const auto bytes = format::encode_topics(m);
  bool replaced = false;
  auto s = env_->write_file_atomically(opts_.data_dir, format::topics_file, bytes, &replaced);
  // The new file is visible but its directory fsync failed: the change has
  // happened as far as anyone can tell, so callers keep it (and report the
  // error); admin calls stop until a reopen settles what is on disk.
  if (!s.ok() && replaced) metadata_failed_ = true;
  return s;
}

status broker::check_admin() const {
  FRANZ_TRY(check_open());
  if (metadata_failed_)
    return make_error(errc::kafka_storage_error,
                      fmt::format("{}: an fsync of {} failed; close and reopen the broker", opts_.data_dir,
                                  format::topics_file));
  return {};
}

format::topics_meta broker::meta_without(std::string_view skip) const {
  format::topics_meta m;
  m.next_topic_id = next_topic_id_;
  for (const auto& [name, t] : topics_) {
    if (name == skip) continue;
    m.topics.push_back(
        {t->name, t->topic_id, static_cast<std::int32_t>(t->partitions.size()), t->overrides});
  }
  return m;
}

void broker::publish(std::shared_ptr<const detail::topic_state> t) {
  topics_[t->name] = std::move(t);
  metadata_version_.fetch_add(1, std::memory_order_acq_rel);
}

status broker::remove_partition_dirs(const std::string& topic, std::int32_t from, std::int32_t to,
                                     std::uint64_t topic_id) {
  // Rename first (one atomic step per partition frees the name), then
  // remove the files; a crash in between leaves *-delete directories that
  // the next open removes.
  status first;
  std::vector<std::string> doomed;
  for (std::int32_t p = from; p < to; ++p) {
    const std::string gone = path_of(deleted_dir_name(topic, p, topic_id));
    if (auto s = env_->rename(path_of(format::partition_dir(topic, p)), gone); !s.ok()) {
      if (first.ok() && s.error().sys_errno != ENOENT) first = std::move(s);
      continue;
    }
    doomed.push_back(gone);
  }
  if (auto s = env_->fsync_dir(opts_.data_dir); !s.ok() && first.ok()) first = std::move(s);
  for (const auto& d : doomed)
    if (auto s = env_->remove_dir(d); !s.ok() && first.ok()) first = std::move(s);
  return first;
}

status broker::create_topic(std::string_view name, std::int32_t partitions,
                            const std::map<std::string, std::string>& config) {
  FRANZ_TRY(check_not_internal(name));
  return create_topic_impl(name, partitions, config);
}

status broker::create_internal_topic(std::string_view name) {
  // Kafka's offsets.topic.segment.bytes; compacted, so that (with the
  // compaction issue) only the last commit per key stays. One partition:
  // in-process, more would only add files and fsyncs.
  // Retention off: until compaction lands, nothing may delete a group's
  // last commit (retention would, whatever the broker defaults say).
  return create_topic_impl(name, 1,
                           {{"cleanup.policy", "compact"},
                            {"segment.bytes", "104857600"},
                            {"retention.ms", "-1"},
                            {"retention.bytes", "-1"}});
}

status broker::create_topic_impl(std::string_view name, std::int32_t partitions,
                                 const std::map<std::string, std::string>& config) {
  FRANZ_TRY(check_open());
  FRANZ_TRY(check_topic_name(name));
  if (partitions == -1) partitions = opts_.num_partitions;
  FRANZ_TRY(check_partition_count(name, partitions));
  FRANZ_ASSIGN_OR_RETURN(const log_config cfg, effective_config(config));
  std::lock_guard g(mu_);
  FRANZ_TRY(check_admin());
  if (topics_.count(name) != 0)
    return make_error(errc::topic_already_exists, fmt::format("topic '{}' already exists", name));
  auto state = std::make_shared<detail::topic_state>();
  state->name = std::string(name);
  state->topic_id = next_topic_id_;
  state->config = cfg;
  state->overrides = config;
  // Partition directories first, then the topics file: a crash between the
  // two leaves directories the topics file does not list, which open removes.
  auto undo = [&](error e) -> status {
    for (auto& p : state->partitions) (void)p->mark_deleted_and_close();
    (void)remove_partition_dirs(state->name, 0, partitions, state->topic_id);
    return e;
  };
  for (std::int32_t p = 0; p < partitions; ++p) {
    auto part = open_partition(state->name, p, cfg, /*fresh=*/true);
    if (!part) return undo(std::move(part).error());
    state->partitions.push_back(std::move(*part));
  }
  auto m = meta_without({});
  m.next_topic_id = next_topic_id_ + 1;
  m.topics.push_back({state->name, state->topic_id, partitions, config});
  std::sort(m.topics.begin(), m.topics.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  // The map node is allocated before topics.meta is replaced: once the file
  // names the topic, no allocation may fail before this broker shows it
  // too. mu_ is held, so nobody sees the empty entry; it never outlives
  // this call (bad_alloc out of persist removes it).
  const auto slot = topics_.try_emplace(state->name).first;
  status persisted;
  try {
    persisted = persist(m);
  } catch (...) {
    topics_.erase(slot);
    throw;
  }
  if (!persisted.ok() && !metadata_failed_) {
    topics_.erase(slot);
    return undo(std::move(persisted).error());
  }
  // topics.meta was replaced but its directory fsync failed: the topic is
  // kept, but its existence is not durable, so its partitions refuse
  // writes until a reopen (see detail::partition::mark_unlisted): records
  // acknowledged in them would vanish with the topic on a power loss.
  if (!persisted.ok())
    for (auto& p : state->partitions) p->mark_unlisted();
  ++next_topic_id_;
  slot->second = std::move(state);
  metadata_version_.fetch_add(1, std::memory_order_acq_rel);
  return persisted;
}

status broker::delete_topic(std::string_view name) {
  FRANZ_TRY(check_not_internal(name));
  FRANZ_TRY(delete_topic_impl(name));
  // Outside mu_ (the coordinator takes it under its own): drop the groups'
  // committed offsets of the topic, as Kafka does.
  groups_->topic_deleted(name);
  return {};
}

status broker::delete_topic_impl(std::string_view name) {
  std::lock_guard g(mu_);
  FRANZ_TRY(check_admin());
  FRANZ_ASSIGN_OR_RETURN(auto state, find_locked(name));
  // The topics file first: once it is replaced the topic is gone, whatever
  // happens to its files.
  auto persisted = persist(meta_without(name));
  if (!persisted.ok() && !metadata_failed_) return persisted;
  topics_.erase(topics_.find(name));
  metadata_version_.fetch_add(1, std::memory_order_acq_rel);
  for (auto& p : state->partitions) (void)p->mark_deleted_and_close();
  // Leftovers (if removal fails now) are removed by the next open.
  (void)remove_partition_dirs(state->name, 0, static_cast<std::int32_t>(state->partitions.size()), state->topic_id);
  return persisted;
}

std::vector<std::string> broker::list_topics(bool include_internal) const {
  std::lock_guard g(mu_);
  std::vector<std::string> out;
  out.reserve(topics_.size());
  for (const auto& kv : topics_)
    if (include_internal || kv.first != offsets_topic) out.push_back(kv.first);
  return out;
}

result<std::shared_ptr<const detail::topic_state>> broker::find_topic(std::string_view name) const {
  std::lock_guard g(mu_);
  return find_locked(name);
}

result<std::shared_ptr<detail::partition>> broker::find_partition(std::string_view topic,
                                                                  std::int32_t partition) const {
  FRANZ_ASSIGN_OR_RETURN(auto t, find_topic(topic));
  if (partition < 0 || static_cast<std::size_t>(partition) >= t->partitions.size())
    return make_error(errc::unknown_topic_or_partition, fmt::format("topic '{}' has no partition {} (it has {})",
                                                                    topic, partition, t->partitions.size()));
  return t->partitions[static_cast<std::size_t>(partition)];
}

result<std::shared_ptr<const detail::topic_state>> broker::find_locked(std::string_view name) const {
  FRANZ_TRY(check_open());
  auto it = topics_.find(name);
  if (it == topics_.end())
    return make_error(errc::unknown_topic_or_partition, fmt::format("topic '{}' does not exist", name));
  return it->second;
}

result<topic_description> broker::describe_topic(std::string_view name) const {
  FRANZ_ASSIGN_OR_RETURN(auto t, find_topic(name));
  topic_description d;
  d.name = t->name;
  d.topic_id = t->topic_id;
  d.config = t->config.to_properties();
  d.overrides = t->overrides;
  for (const auto& p : t->partitions) {
    const auto& log = p->log();
    d.partitions.push_back({p->id(), log.log_start_offset(), log.log_end_offset(), log.durable_offset(),
                            log.size_bytes(), log.segments().size()});
  }
  return d;
}

status broker::create_partitions(std::string_view name, std::int32_t total) {
  FRANZ_TRY(check_not_internal(name));
  std::lock_guard g(mu_);
  FRANZ_TRY(check_admin());
  FRANZ_ASSIGN_OR_RETURN(auto current, find_locked(name));
  const auto& old = *current;
  const auto have = static_cast<std::int32_t>(old.partitions.size());
  if (total <= have)
    return make_error(errc::invalid_partitions,
                      fmt::format("topic '{}' has {} partitions; partitions can only be added (asked for {})", name,
                                  have, total));
  FRANZ_TRY(check_partition_count(name, total));
  auto state = std::make_shared<detail::topic_state>(old);
  auto undo = [&](error e) -> status {
    for (std::size_t i = static_cast<std::size_t>(have); i < state->partitions.size(); ++i)
      (void)state->partitions[i]->mark_deleted_and_close();
    (void)remove_partition_dirs(state->name, have, total, state->topic_id);
    return e;
  };
  for (std::int32_t p = have; p < total; ++p) {
    auto part = open_partition(state->name, p, state->config, /*fresh=*/true);
    if (!part) return undo(std::move(part).error());
    state->partitions.push_back(std::move(*part));
  }
  auto m = meta_without({});
  for (auto& t : m.topics)
    if (t.name == name) t.partitions = total;
  auto persisted = persist(m);
  if (!persisted.ok() && !metadata_failed_) return undo(std::move(persisted).error());
  // As in create_topic: the new partitions are kept but not durable, so
  // they refuse writes until a reopen.
  if (!persisted.ok())
    for (std::size_t i = static_cast<std::size_t>(have); i < state->partitions.size(); ++i)
      state->partitions[i]->mark_unlisted();
  publish(std::move(state));
  return persisted;
}

status broker::alter_topic_config(std::string_view name, const std::map<std::string, std::string>& set,
                                  const std::vector<std::string>& reset) {
  FRANZ_TRY(check_not_internal(name));
  std::lock_guard g(mu_);
  FRANZ_TRY(check_admin());
  FRANZ_ASSIGN_OR_RETURN(auto current, find_locked(name));
  auto state = std::make_shared<detail::topic_state>(*current);
  const auto known = opts_.log_defaults.to_properties();
  for (const auto& k : reset) {
    if (known.count(k) == 0) return make_error(errc::invalid_config, fmt::format("{}: unknown config key", k));
    state->overrides.erase(k);
  }
  for (const auto& [k, v] : set) state->overrides[k] = v;
  FRANZ_ASSIGN_OR_RETURN(state->config, effective_config(state->overrides));
  auto m = meta_without(name);
  m.topics.push_back({state->name, state->topic_id, static_cast<std::int32_t>(state->partitions.size()),
                      state->overrides});
  std::sort(m.topics.begin(), m.topics.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  status first = persist(m);
  if (!first.ok() && !metadata_failed_) return first;
  for (auto& p : state->partitions) {
    auto s = p->with_writer([&](detail::partition_log& log) { return log.set_config(state->config); });
    if (!s.ok() && first.ok()) first = std::move(s);
  }
  publish(std::move(state));
  return first;
}

result<offset> broker::delete_records(std::string_view topic, std::int32_t partition, offset before) {
  FRANZ_TRY(check_not_internal(topic));
  FRANZ_ASSIGN_OR_RETURN(auto p, find_partition(topic, partition));
  return p->with_writer([&](detail::partition_log& log) { return log.delete_records(before); });
}

status broker::tick() {
  FRANZ_TRY(check_open());
  std::vector<std::shared_ptr<detail::partition>> parts;
  {
    std::lock_guard g(mu_);
    for (const auto& kv : topics_) parts.insert(parts.end(), kv.second->partitions.begin(), kv.second->partitions.end());
  }
  status first = groups_->tick();
  for (auto& p : parts) {
    auto s = p->tick();
    if (!s.ok() && first.ok() && s.code() != errc::unknown_topic_or_partition) first = std::move(s);
  }
  return first;
}

void broker::maintenance_loop() {
  std::unique_lock l(maint_mu_);
  while (!maint_stop_) {
    maint_cv_.wait_for(l, std::chrono::milliseconds(opts_.maintenance_interval_ms), [&] { return maint_stop_; });
    if (maint_stop_) break;
    l.unlock();
    (void)tick();  // a failing log reports on its next append or flush
    l.lock();
  }
}

status broker::close() {
  if (closed_.exchange(true)) return {};
  {
    std::lock_guard l(maint_mu_);
    maint_stop_ = true;
  }
  maint_cv_.notify_all();
  if (maint_.joinable()) maint_.join();
  status first;
  std::lock_guard g(mu_);
  for (auto& [name, t] : topics_) {
    for (auto& p : t->partitions) {
      auto s = p->close();
      if (!s.ok() && first.ok()) first = std::move(s);
    }
  }
  metadata_version_.fetch_add(1, std::memory_order_acq_rel);
  env_->release_lock();
  return first;
}

}  // namespace franz
