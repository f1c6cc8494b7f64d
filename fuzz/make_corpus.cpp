// make_corpus — writes the seed corpora of the fuzz targets from real franz
// output: batches a franz::log stored with each codec, a small multi-segment
// log with its indexes and checkpoint, a broker's topics.meta, offsets
// records, file names. Each seed is wrapped in its target's input format
// (see the comment at the top of each fuzz_*.cpp).
//
//   build-fuzz/fuzz/make_corpus fuzz/corpus
//
// Rewrites every seed-* file under <corpus>/<target>/ (removing stale ones)
// and leaves other files (regress-*: crash inputs kept as regressions)
// alone. The output is deterministic: a manual clock drives every
// timestamp, so regenerating gives the same bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "franz/codec/codec.hpp"
#include "franz/format/checkpoint.hpp"
#include "franz/format/file_names.hpp"
#include "franz/format/offsets_record.hpp"
#include "franz/franz.hpp"

namespace {

namespace fs = std::filesystem;
using namespace franz;
using bytes = std::vector<std::byte>;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "make_corpus: %s\n", what.c_str());
  std::exit(1);
}

void must(const franz::status& s, const char* what) {
  if (!s.ok()) die(std::string(what) + ": " + s.error().to_string());
}
template <class T>
T must(result<T> r, const char* what) {
  if (!r.ok()) die(std::string(what) + ": " + r.error().to_string());
  return std::move(*r);
}

bytes read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) die("cannot read " + p.string());
  std::string s((std::istreambuf_iterator<char>(f)), {});
  bytes b(s.size());
  if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
  return b;
}

// Builds a fuzz input: little-endian integers and raw bytes.
struct packer {
  bytes b;
  template <class T>
  packer& put(T v) {
    const std::size_t at = b.size();
    b.resize(at + sizeof v);
    std::memcpy(b.data() + at, &v, sizeof v);
    return *this;
  }
  packer& raw(std::span<const std::byte> s) {
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  packer& raw(std::string_view s) { return raw(std::as_bytes(std::span<const char>(s.data(), s.size()))); }
};

class corpus {
 public:
  explicit corpus(fs::path root) : root_(std::move(root)) {}
  void emit(const std::string& target, const std::string& name, const bytes& b) {
    const fs::path dir = root_ / target;
    if (!cleaned_.count(target)) {
      fs::create_directories(dir);
      for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().starts_with("seed-")) fs::remove(e.path());
      cleaned_[target] = true;
    }
    std::ofstream f(dir / ("seed-" + name), std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!f) die("cannot write " + (dir / name).string());
    total_ += b.size();
    ++files_;
  }
  void report() const { std::printf("make_corpus: %zu seeds, %zu bytes under %s\n", files_, total_, root_.c_str()); }

 private:
  fs::path root_;
  std::map<std::string, bool> cleaned_;
  std::size_t total_ = 0, files_ = 0;
};

std::vector<fs::path> sorted_files(const fs::path& dir) {
  std::vector<fs::path> v;
  for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path());
  std::sort(v.begin(), v.end());
  return v;
}

// Preallocated (zero) tails are cut to at most keep bytes, whole units.
bytes trim_zeros(bytes b, std::size_t unit, std::size_t keep) {
  std::size_t n = b.size();
  while (n > 0 && b[n - 1] == std::byte{0}) --n;
  n = std::min(b.size(), (n + keep + unit - 1) / unit * unit);
  b.resize(n);
  return b;
}

struct dir_files {
  std::vector<std::int64_t> bases;  // sorted, at most 4
  std::map<std::string, bytes> files;
};

dir_files collect(const fs::path& dir, bool trim) {
  dir_files d;
  for (const auto& p : sorted_files(dir)) {
    const std::string name = p.filename().string();
    const auto parsed = format::parse_file_name(name);
    if (parsed.kind == format::file_kind::lock) continue;
    bytes b = read_file(p);
    if (trim) {
      const std::size_t unit = parsed.kind == format::file_kind::index        ? 8
                               : parsed.kind == format::file_kind::time_index ? 12
                                                                              : 1;
      b = trim_zeros(std::move(b), unit, 16);
    }
    if (parsed.kind == format::file_kind::log) d.bases.push_back(parsed.base_offset);
    d.files[name] = std::move(b);
  }
  if (d.bases.size() > 4) die("the seed log has more than 4 segments");
  return d;
}

// --- a small real log ---------------------------------------------------

struct stored_batch {
  std::string label;
  bytes b;
};

struct written_log {
  fs::path dir;
  std::vector<stored_batch> batches;  // one per append, as stored
};

// Appends batch number i: 1-4 records, keys and values of varying shape,
// headers on some, null keys and values, a timestamp that goes backwards.
result<append_info> append_mixed(franz::log& lg, int i, manual_clock& clk, const format::batch_params& params = {}) {
  static const record_header hs[] = {{"trace", "abc123"}, {"null-value", null_bytes}, {"", "empty-key"}};
  std::vector<std::string> keep;
  std::vector<record> recs;
  const int n = 1 + i % 4;
  keep.reserve(static_cast<std::size_t>(2 * n));
  for (int j = 0; j < n; ++j) {
    record r;
    keep.push_back("key-" + std::to_string(i) + "-" + std::to_string(j));
    r.key = (i + j) % 5 == 3 ? null_bytes : bytes_view(keep.back());
    keep.push_back(std::string(static_cast<std::size_t>(8 + (i * 7 + j) % 40), static_cast<char>('a' + (i + j) % 26)));
    r.value = (i + j) % 7 == 5 ? null_bytes : bytes_view(keep.back());
    if ((i + j) % 3 == 1) r.headers = std::span<const record_header>(hs, 1 + (i + j) % 3);
    r.ts = (i + j) % 4 == 2 ? timestamp::none() : timestamp{clk.now_ms() - (j == 1 ? 5 : 0)};
    recs.push_back(r);
  }
  clk.advance(10);
  return lg.append(recs, params);
}

bytes batch_at(const franz::log& lg, offset at) {
  const log_read r = must(lg.read(at, 1), "read");
  return bytes(r.bytes().begin(), r.bytes().end());
}

// A log of a few small segments; the codec changes from batch to batch.
// open_files: if set, receives the files of the still open log (after a
// flush), with their preallocated tails trimmed.
written_log write_log(const fs::path& dir, manual_clock& clk, bool append_time, int batches,
                      dir_files* open_files = nullptr) {
  written_log w;
  w.dir = dir;
  log_options o;
  o.clk = &clk;
  o.config.segment_bytes = 1024;
  o.config.index_interval_bytes = 64;
  o.config.retention_ms = -1;
  if (append_time) o.config.message_timestamp_type = timestamp_type::log_append_time;
  auto lg = must(franz::log::open(dir.string(), o), "open log");
  const std::optional<compression> codecs[] = {std::nullopt, compression::lz4, compression::zstd};
  for (int i = 0; i < batches; ++i) {
    log_config c = o.config;
    c.compression_type = codecs[i % 3];
    must(lg->set_config(c), "set_config");
    format::batch_params p;
    if (append_time) {
      p.attributes = format::attr_transactional;
      p.producer_id = 4242;
      p.producer_epoch = 3;
      p.base_sequence = i * 4;
    }
    const auto a = must(append_mixed(*lg, i, clk, p), "append");
    const std::string label = std::string(codec::compression_name(codecs[i % 3].value_or(compression::none))) +
                              (append_time ? "-lat" : "") + "-" + std::to_string(i);
    w.batches.push_back({label, batch_at(*lg, a.base_offset)});
  }
  must(lg->flush(), "flush");
  if (open_files) *open_files = collect(dir, true);
  must(lg->close(), "close");
  return w;
}

// A fuzz_segment_reader input for the files of d (minus `skip`), with an
// optional edit of one file.
bytes pack_dir(const dir_files& d, std::uint8_t flags, const std::vector<std::string>& skip = {},
               const std::map<std::string, bytes>& extra = {}) {
  packer p;
  p.put(flags);
  for (std::size_t i = 0; i < 4; ++i) p.put<std::int64_t>(i < d.bases.size() ? d.bases[i] : 0);
  auto add = [&](const std::string& name, const bytes& b) {
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) return;
    const auto parsed = format::parse_file_name(name);
    std::uint8_t kind = 0;
    std::uint8_t slot = 0;
    if (name == format::checkpoint_file)
      kind = 3;
    else if (name == std::string(format::checkpoint_file) + ".tmp")
      kind = 4;
    else if (name.ends_with(".index.tmp"))
      kind = 5;
    else if (parsed.kind == format::file_kind::index)
      kind = 1;
    else if (parsed.kind == format::file_kind::time_index)
      kind = 2;
    const std::int64_t base = parsed.kind == format::file_kind::temporary
                                  ? format::parse_file_name(name.substr(0, name.size() - 4)).base_offset
                                  : parsed.base_offset;
    for (std::size_t i = 0; i < d.bases.size(); ++i)
      if (d.bases[i] == base) slot = static_cast<std::uint8_t>(i);
    if (b.size() > 0xffff) die(name + " is too large for a seed");
    p.put<std::uint8_t>(static_cast<std::uint8_t>(kind | slot << 3))
        .put<std::uint16_t>(static_cast<std::uint16_t>(b.size()))
        .raw(b);
  };
  for (const auto& [name, b] : d.files) add(name, b);
  for (const auto& [name, b] : extra) add(name, b);
  return p.b;
}

// --- the targets ----------------------------------------------------------

void batch_seeds(corpus& c, const written_log& mixed, const written_log& lat, const dir_files& d) {
  const std::string t = "fuzz_batch_decode";
  // Mode 0: the first segment as stored, and one batch of each kind.
  c.emit(
      t, "segment",
      packer().put<std::uint8_t>(0).put<std::uint8_t>(0).raw(d.files.at(format::segment_file(d.bases[0], ".log"))).b);
  c.emit(
      t, "segment-from-3",
      packer().put<std::uint8_t>(0).put<std::uint8_t>(3).raw(d.files.at(format::segment_file(d.bases[1], ".log"))).b);
  for (std::size_t i = 0; i < 3; ++i) {
    c.emit(t, "stored-" + mixed.batches[i].label,
           packer().put<std::uint8_t>(0).put<std::uint8_t>(0).raw(mixed.batches[i].b).b);
    c.emit(t, "stored-" + lat.batches[i].label,
           packer().put<std::uint8_t>(0).put<std::uint8_t>(1).raw(lat.batches[i].b).b);
    c.emit(t, "repair-" + mixed.batches[i + 3].label,
           packer().put<std::uint8_t>(1).put<std::uint8_t>(0).raw(mixed.batches[i + 3].b).b);
  }
  // Mode 2: header + uncompressed section; mode 3: compressed sections.
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& b = mixed.batches[i + 6].b;
    const batch_view v(b);
    bytes section(v.records_section().begin(), v.records_section().end());
    if (v.codec() != compression::none) {
      c.emit(t, "section-" + mixed.batches[i + 6].label,
             packer().put<std::uint8_t>(v.codec() == compression::zstd ? 3 | 4 : 3).raw(section).b);
      bytes plain;
      must(codec::decompress(v.codec(), section, plain), "decompress");
      section = plain;
    }
    c.emit(t, "every-codec-" + mixed.batches[i + 6].label,
           packer()
               .put<std::uint8_t>(2)
               .raw(std::span<const std::byte>(b).first(format::batch_header_size))
               .raw(section)
               .b);
  }
  c.emit(t, "gzip", packer().put<std::uint8_t>(3 | 8).raw(std::string_view("\x10\0\0\0payload", 11)).b);
}

void segment_seeds(corpus& c, const dir_files& closed, const dir_files& lat, const dir_files& open) {
  const std::string t = "fuzz_segment_reader";
  constexpr std::uint8_t interval64 = 1 << 4;
  c.emit(t, "closed", pack_dir(closed, interval64));
  c.emit(t, "closed-append-reopen", pack_dir(closed, interval64 | 4));
  c.emit(t, "closed-verify-all-repair", pack_dir(closed, interval64 | 1 | 2));
  c.emit(t, "closed-small-index-zstd-append", pack_dir(closed, interval64 | 0x40 | 0x80 | 4));
  c.emit(t, "no-checkpoint", pack_dir(closed, interval64, {std::string(format::checkpoint_file)}));
  // A torn tail on the last segment, below the recovery point: repair.
  {
    const std::string last = format::segment_file(closed.bases.back(), ".log");
    bytes torn = closed.files.at(last);
    torn.resize(torn.size() - 10);
    dir_files d = closed;
    d.files[last] = torn;
    c.emit(t, "torn-tail-repair", pack_dir(d, interval64 | 2 | 4));
    c.emit(t, "torn-tail", pack_dir(d, interval64));
  }
  c.emit(
      t, "stray-tmp",
      pack_dir(closed, interval64, {},
               {{std::string(format::checkpoint_file) + ".tmp", closed.files.at(std::string(format::checkpoint_file))},
                {format::segment_file(closed.bases[0], ".index") + ".tmp", bytes(8)}}));
  c.emit(t, "log-append-time", pack_dir(lat, interval64 | 8 | 4));
  c.emit(t, "unsealed", pack_dir(open, interval64));
  c.emit(t, "unsealed-append", pack_dir(open, interval64 | 4));
}

void index_seeds(corpus& c, const dir_files& closed, const dir_files& open) {
  const std::string t = "fuzz_index_lookup";
  int n = 0;
  for (const auto* d : {&closed, &open}) {
    for (const auto& [name, b] : d->files) {
      const auto parsed = format::parse_file_name(name);
      if (b.empty() || (parsed.kind != format::file_kind::index && parsed.kind != format::file_kind::time_index))
        continue;
      const bool time = parsed.kind == format::file_kind::time_index;
      const auto log_size =
          static_cast<std::uint32_t>(d->files.at(format::segment_file(parsed.base_offset, ".log")).size());
      const std::uint8_t sizing = static_cast<std::uint8_t>((n % 4) << 1);
      packer p;
      p.put<std::uint8_t>(static_cast<std::uint8_t>((time ? 1 : 0) | sizing))
          .put<std::uint32_t>(time ? UINT32_MAX : log_size)
          .put<std::uint16_t>(2);
      if (time)
        p.put<std::int64_t>(1'700'000'000'050).put<std::int64_t>(-1);
      else
        p.put<std::uint32_t>(5).put<std::uint32_t>(UINT32_MAX);
      c.emit(t, (d == &open ? "open-" : "") + name, p.raw(b).b);
      ++n;
    }
  }
}

void meta_seeds(corpus& c, const dir_files& closed, const fs::path& data_dir, const bytes& topics_file) {
  const std::string t = "fuzz_offsets_meta";
  const std::string key = format::encode_offset_key({"orders-service", "orders", 3});
  const std::string value = format::encode_offset_value({1234567, 1'700'000'000'000, "checkpoint-7"});
  c.emit(t, "offset-key", packer().put<std::uint8_t>(0).raw(key).b);
  c.emit(t, "offset-key-empty", packer().put<std::uint8_t>(0).raw(format::encode_offset_key({"", "", 0})).b);
  c.emit(t, "offset-value", packer().put<std::uint8_t>(1).raw(value).b);
  c.emit(t, "offset-value-empty", packer().put<std::uint8_t>(1).raw(format::encode_offset_value({0, 0, ""})).b);
  c.emit(t, "key-version", packer().put<std::uint8_t>(2).raw(key).b);
  c.emit(t, "group-key-version-2",
         packer().put<std::uint8_t>(2).put<std::uint16_t>(2).put<std::uint16_t>(2).raw("g1").b);
  c.emit(t, "topics-meta", packer().put<std::uint8_t>(3).raw(topics_file).b);
  c.emit(t, "topics-meta-repaired", packer().put<std::uint8_t>(7).raw(topics_file).b);
  const bytes& cp = closed.files.at(std::string(format::checkpoint_file));
  c.emit(t, "checkpoint", packer().put<std::uint8_t>(4).raw(cp).b);
  c.emit(t, "checkpoint-repaired", packer().put<std::uint8_t>(5).raw(cp).b);
  std::string names;
  for (const auto& [name, b] : closed.files) names += name + "/";
  for (const auto& p : sorted_files(data_dir)) names += p.filename().string() + "/";
  names += "orders-0.17-delete/topics.meta.tmp/.lock/00000000000000000012.log.tmp";
  c.emit(t, "file-names", packer().put<std::uint8_t>(6).raw(names).b);
}

// fuzz_roundtrip's record description (see fuzz_roundtrip.cpp).
struct rt_record {
  std::uint8_t ctl = 0;
  std::string key, value;
  std::int64_t ts = 0;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

bytes pack_roundtrip(std::uint8_t flags, std::int64_t base, std::int64_t default_ts,
                     const std::vector<rt_record>& recs) {
  packer p;
  p.put(flags)
      .put<std::uint64_t>(static_cast<std::uint64_t>(base))
      .put<std::int64_t>(77)
      .put<std::int16_t>(2)
      .put<std::int32_t>(9)
      .put(default_ts);
  for (const auto& r : recs) {
    std::uint8_t ctl = static_cast<std::uint8_t>((r.ctl & ~0x0c) | (r.headers.size() << 2));
    p.put(ctl);
    auto len = [&](std::size_t n) {
      if (ctl & 0x40)
        p.put<std::uint16_t>(static_cast<std::uint16_t>(n));
      else
        p.put<std::uint8_t>(static_cast<std::uint8_t>(n));
    };
    len((ctl & 1) ? 0 : r.key.size());
    if (!(ctl & 1)) p.raw(r.key);
    len((ctl & 2) ? 0 : r.value.size());
    if (!(ctl & 2)) p.raw(r.value);
    if (!(ctl & 0x10)) p.put(r.ts);
    for (const auto& [k, v] : r.headers) {
      p.put<std::uint8_t>(static_cast<std::uint8_t>(k.size())).raw(k);
      if (!v)
        p.put<std::uint8_t>(0xff);
      else
        p.put<std::uint8_t>(static_cast<std::uint8_t>(v->size())).raw(*v);
    }
  }
  return p.b;
}

void roundtrip_seeds(corpus& c) {
  const std::string t = "fuzz_roundtrip";
  constexpr std::int64_t T = 1'700'000'000'000;
  // The worked example of doc/format.md.
  c.emit(
      t, "worked-example",
      pack_roundtrip(
          2, 1000, T,
          {{0, "k", "v1", T, {{"h", std::nullopt}}}, {1, "", "", T + 1000, {}}, {2, "kk", "", T - 2, {{"a", "b"}}}}));
  c.emit(t, "log-append-time-no-timestamps",
         pack_roundtrip(1 | 2, 0, T,
                        {{0x10, "a", "1", 0, {}}, {0x10 | 0x80, "b", "2", 0, {{"x", "y"}, {"z", std::nullopt}}}}));
  std::vector<rt_record> many;
  for (int i = 0; i < 24; ++i)
    many.push_back({static_cast<std::uint8_t>(0x40 | (i % 5 == 0 ? 0x10 : 0)),
                    "key-" + std::to_string(i),
                    std::string(static_cast<std::size_t>(100 + i * 13), static_cast<char>('a' + i % 26)),
                    T + i * 3,
                    {}});
  c.emit(t, "many-long-values", pack_roundtrip(0, 123456789, T, many));
  c.emit(t, "negative-timestamp", pack_roundtrip(0, 5, T, {{0x20, "k", "v", -7, {}}}));
  c.emit(t, "null-key-and-value", pack_roundtrip(0, 0, 0, {{1 | 2, "", "", 0, {{"", ""}}}}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus CORPUS_DIR   (e.g. fuzz/corpus)\n");
    return 2;
  }
  std::string tmpl = (fs::temp_directory_path() / "franz-corpus-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) die("mkdtemp failed");
  const fs::path work = tmpl;
  corpus c(argv[1]);
  {
    manual_clock clk(1'700'000'000'000);
    const written_log mixed = write_log(work / "mixed-0", clk, false, 12);
    const written_log lat = write_log(work / "lat-0", clk, true, 4);
    dir_files open_files;
    (void)write_log(work / "open-0", clk, false, 5, &open_files);
    const dir_files mixed_files = collect(mixed.dir, false);
    const dir_files lat_files = collect(lat.dir, false);

    // A data directory with a few topics (one deleted: ids move on).
    const fs::path data = work / "data";
    {
      broker_options bo;
      bo.data_dir = data.string();
      bo.clk = &clk;
      bo.background_maintenance = false;
      auto b = must(broker::open(bo), "open broker");
      must(b->create_topic("orders", 2, {{"retention.ms", "3600000"}, {"cleanup.policy", "compact"}}), "create");
      must(b->create_topic("gone", 1), "create");
      must(b->create_topic("events.v2", 1, {{"compression.type", "zstd"}}), "create");
      must(b->delete_topic("gone"), "delete");
    }
    const bytes topics_file = read_file(data / std::string(format::topics_file));

    batch_seeds(c, mixed, lat, mixed_files);
    segment_seeds(c, mixed_files, lat_files, open_files);
    index_seeds(c, mixed_files, open_files);
    meta_seeds(c, mixed_files, data, topics_file);
    roundtrip_seeds(c);
  }
  std::error_code ec;
  fs::remove_all(work, ec);
  c.report();
  return 0;
}
