// peer_report: turns the peer benchmarks' results.csv (rows from every
// <system>_peer program and from chronicle/run.sh) into
//   summary.md   the tables: every system's figures with its durability
//                settings, franz's ratios to each peer, and the targets
//   *.dat, plots.gp  gnuplot input for the plots (run.sh renders the SVGs)
//
//   peer_report RESULTS_DIR
//   peer_report --best RESULTS_DIR   prints the peer (not franz, not raw)
//                                    with the fastest produce
//
// RESULTS_DIR holds results.csv and the cdf-*.dat files the programs wrote;
// the outputs go there too. Figures are the medians the programs printed.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace {

struct row {
  std::string system, workload, durability, settings;
  std::uint64_t records = 0;
  std::size_t record_bytes = 0, batch = 0;
  int partitions = 1;
  std::string metric;
  double value = 0;
  std::string unit;
};

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "peer_report: %s\n", m.c_str());
  std::exit(1);
}

// Splits one CSV line (double-quoted fields may hold commas).
std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> f(1);
  bool quoted = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      f.emplace_back();
    } else {
      f.back() += c;
    }
  }
  return f;
}

std::vector<row> load(const std::string& path) {
  std::ifstream in(path);
  if (!in) die("cannot read " + path);
  std::vector<row> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.rfind("system,", 0) == 0) continue;
    const auto f = fields(line);
    if (f.size() < 11) die("bad row in " + path + ": " + line);
    row r;
    r.system = f[0];
    r.workload = f[1];
    r.durability = f[2];
    r.settings = f[3];
    r.records = std::strtoull(f[4].c_str(), nullptr, 10);
    r.record_bytes = std::strtoull(f[5].c_str(), nullptr, 10);
    r.batch = std::strtoull(f[6].c_str(), nullptr, 10);
    r.partitions = std::atoi(f[7].c_str());
    r.metric = f[8];
    r.value = std::strtod(f[9].c_str(), nullptr);
    r.unit = f[10];
    rows.push_back(std::move(r));
  }
  return rows;
}

class results {
 public:
  explicit results(std::vector<row> rows) : rows_(std::move(rows)) {
    for (const auto& r : rows_)
      if (std::find(systems_.begin(), systems_.end(), r.system) == systems_.end()) systems_.push_back(r.system);
  }
  // The value of (system, workload, metric) at the standard size (100 B,
  // one partition) or at the given size / partitions.
  [[nodiscard]] std::optional<double> get(const std::string& sys, const std::string& w, const std::string& m,
                                          std::size_t size = 0, int partitions = 1) const {
    for (const auto& r : rows_)
      if (r.system == sys && r.workload == w && r.metric == m && r.partitions == partitions &&
          (size == 0 || r.record_bytes == size))
        return r.value;
    return std::nullopt;
  }
  [[nodiscard]] std::string settings(const std::string& sys, const std::string& w) const {
    for (const auto& r : rows_)
      if (r.system == sys && r.workload == w) return r.settings;
    return {};
  }
  [[nodiscard]] std::set<std::size_t> sizes(const std::string& sys) const {
    std::set<std::size_t> s;
    for (const auto& r : rows_)
      if (r.system == sys && r.workload == "size_produce") s.insert(r.record_bytes);
    return s;
  }
  [[nodiscard]] std::set<int> partition_counts() const {
    std::set<int> s;
    for (const auto& r : rows_)
      if (r.workload == "partitions_produce") s.insert(r.partitions);
    return s;
  }
  [[nodiscard]] std::uint64_t records(const std::string& sys, const std::string& w) const {
    for (const auto& r : rows_)
      if (r.system == sys && r.workload == w) return r.records;
    return 0;
  }
  [[nodiscard]] const std::vector<std::string>& systems() const { return systems_; }

 private:
  std::vector<row> rows_;
  std::vector<std::string> systems_;
};

std::string rate(std::optional<double> v) {
  if (!v) return "–";
  if (*v >= 1e6) return fmt::format("{:.2f}M", *v / 1e6);
  if (*v >= 1e3) return fmt::format("{:.0f}k", *v / 1e3);
  return fmt::format("{:.0f}", *v);
}

std::string ns(std::optional<double> v) {
  if (!v) return "–";
  if (*v >= 1e6) return fmt::format("{:.1f} ms", *v / 1e6);
  if (*v >= 1e4) return fmt::format("{:.0f} µs", *v / 1e3);
  if (*v >= 1e3) return fmt::format("{:.1f} µs", *v / 1e3);
  return fmt::format("{:.0f} ns", *v);
}

std::string ratio(std::optional<double> a, std::optional<double> b) {
  if (!a || !b || *b == 0) return "–";
  const double r = *a / *b;
  return r >= 100 ? fmt::format("{:.0f}×", r) : r >= 10 ? fmt::format("{:.1f}×", r) : fmt::format("{:.2f}×", r);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  if (!out) die("cannot write " + path);
  out << text;
}

}  // namespace

int main(int argc, char** argv) {
  const bool best = argc == 3 && std::string(argv[1]) == "--best";
  if (argc != 2 && !best) {
    std::fprintf(stderr, "usage: peer_report [--best] RESULTS_DIR\n");
    return 2;
  }
  const std::string dir = argv[argc - 1];
  const results res(load(dir + "/results.csv"));
  const auto& sys = res.systems();
  if (best) {  // the peer with the fastest produce (no fsync), for the size sweep
    std::string name;
    double top = 0;
    for (const auto& s : sys)
      if (const auto v = res.get(s, "produce", "rate"); v && *v > top && s != "franz" && s != "raw") {
        top = *v;
        name = s;
      }
    std::printf("%s\n", name.c_str());
    return 0;
  }
  std::string md;

  // 1. Every system, every standard workload.
  md += "| system | produce, no fsync (rec/s) | × raw | produce, fsync per batch (rec/s) | × raw | consume (rec/s) | "
        "append p50 / p99 / p99.9 | producer → consumer p50 / p99 / p99.9 |\n";
  md += "|---|---|---|---|---|---|---|---|\n";
  for (const auto& s : sys) {
    const auto p = res.get(s, "produce", "rate"), pf = res.get(s, "produce_fsync", "rate");
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} / {} / {} | {} / {} / {} |\n", s, rate(p),
                      ratio(p, res.get("raw", "produce", "rate")), rate(pf),
                      ratio(pf, res.get("raw", "produce_fsync", "rate")), rate(res.get(s, "consume", "rate")),
                      ns(res.get(s, "append_latency", "p50")), ns(res.get(s, "append_latency", "p99")),
                      ns(res.get(s, "append_latency", "p99.9")), ns(res.get(s, "e2e", "p50")),
                      ns(res.get(s, "e2e", "p99")), ns(res.get(s, "e2e", "p99.9")));
  }
  md += "\nDurability and settings of each system:\n\n| system | no fsync | fsync per batch |\n|---|---|---|\n";
  for (const auto& s : sys) {
    const std::string f = res.settings(s, "produce_fsync");
    md += fmt::format("| {} | {} | {} |\n", s, res.settings(s, "produce"), f.empty() ? "not offered" : f);
  }

  // 2. franz against each peer.
  md += "\nHow many times better franz is than each peer, same run (rates: franz ÷ peer; latencies: peer ÷ "
        "franz; above 1: franz is better):\n\n";
  md += "| peer | produce | produce, fsync per batch | consume | append p99 | producer → consumer p99 |\n";
  md += "|---|---|---|---|---|---|\n";
  for (const auto& s : sys) {
    if (s == "franz") continue;
    md += fmt::format("| {} | {} | {} | {} | {} | {} |\n", s,
                      ratio(res.get("franz", "produce", "rate"), res.get(s, "produce", "rate")),
                      ratio(res.get("franz", "produce_fsync", "rate"), res.get(s, "produce_fsync", "rate")),
                      ratio(res.get("franz", "consume", "rate"), res.get(s, "consume", "rate")),
                      ratio(res.get(s, "append_latency", "p99"), res.get("franz", "append_latency", "p99")),
                      ratio(res.get(s, "e2e", "p99"), res.get("franz", "e2e", "p99")));
  }

  // 3. The targets (../shared/SPEC.md).
  auto verdict = [](std::optional<bool> ok) { return ok ? (*ok ? "met" : "**not met**") : "not measured"; };
  auto at_least = [](std::optional<double> a, std::optional<double> b, double k) -> std::optional<bool> {
    if (!a || !b) return std::nullopt;
    return *a >= k * *b;
  };
  const auto fp = res.get("franz", "produce", "rate");
  md += "\nTargets:\n\n| figure | target | franz | against | verdict |\n|---|---|---|---|---|\n";
  md += fmt::format("| produce | ≥ 0.65× raw file | {} | raw {} ({}) | {} |\n", rate(fp), rate(res.get("raw", "produce", "rate")),
                    ratio(fp, res.get("raw", "produce", "rate")), verdict(at_least(fp, res.get("raw", "produce", "rate"), 0.65)));
  md += fmt::format("| produce | ≥ 2.5× LMDB | {} | lmdb {} ({}) | {} |\n", rate(fp), rate(res.get("lmdb", "produce", "rate")),
                    ratio(fp, res.get("lmdb", "produce", "rate")), verdict(at_least(fp, res.get("lmdb", "produce", "rate"), 2.5)));
  const auto fc = res.get("franz", "consume", "rate");
  md += fmt::format("| consume | ≥ LMDB | {} | lmdb {} ({}) | {} |\n", rate(fc), rate(res.get("lmdb", "consume", "rate")),
                    ratio(fc, res.get("lmdb", "consume", "rate")), verdict(at_least(fc, res.get("lmdb", "consume", "rate"), 1.0)));
  const auto ff = res.get("franz", "produce_fsync", "rate");
  md += fmt::format("| fsync per 1000-record batch | ≥ 1.8× LMDB with sync | {} | lmdb {} ({}) | {} |\n", rate(ff),
                    rate(res.get("lmdb", "produce_fsync", "rate")), ratio(ff, res.get("lmdb", "produce_fsync", "rate")),
                    verdict(at_least(ff, res.get("lmdb", "produce_fsync", "rate"), 1.8)));
  const auto fl = res.get("franz", "append_latency", "p99"), cl = res.get("chronicle", "append_latency", "p99");
  md += fmt::format("| single-record append p99 | ≤ Chronicle's | {} | chronicle {} | {} |\n", ns(fl), ns(cl),
                    verdict(fl && cl ? std::optional<bool>(*fl <= *cl) : std::nullopt));
  const auto fe = res.get("franz", "e2e", "p99");
  md += fmt::format("| producer → consumer p99 | ≤ 10 µs | {} | – | {} |\n", ns(fe),
                    verdict(fe ? std::optional<bool>(*fe <= 10'000) : std::nullopt));

  // 4. Size sweep and partitions.
  std::vector<std::string> swept;
  for (const auto& s : sys)
    if (!res.sizes(s).empty()) swept.push_back(s);
  if (!swept.empty()) {
    md += "\nRecord-size sweep (produce, no fsync; MB/s of record bytes):\n\n| record size |";
    for (const auto& s : swept) md += " " + s + " |";
    md += "\n|---|";
    for (std::size_t i = 0; i < swept.size(); ++i) md += "---|";
    md += "\n";
    std::string dat = "# size";
    for (const auto& s : swept) dat += " " + s + "_produce_MBps " + s + "_consume_MBps";
    dat += "\n";
    for (std::size_t size : res.sizes(swept[0])) {
      md += fmt::format("| {} B |", size);
      dat += fmt::format("{}", size);
      for (const auto& s : swept) {
        const auto v = res.get(s, "size_produce", "throughput", size);
        md += v ? fmt::format(" {:.0f} |", *v) : std::string(" – |");
        const auto c = res.get(s, "size_consume", "throughput", size);
        dat += fmt::format(" {} {}", v ? fmt::format("{:.1f}", *v) : "?", c ? fmt::format("{:.1f}", *c) : "?");
      }
      md += "\n";
      dat += "\n";
    }
    write_file(dir + "/sizes.dat", dat);
  }
  if (!res.partition_counts().empty()) {
    md += "\nfranz partition scaling (one thread, batches dealt round-robin over the partitions):\n\n"
          "| partitions | produce (rec/s) | consume (rec/s) |\n|---|---|---|\n";
    std::string dat = "# partitions produce_rps consume_rps\n";
    for (int p : res.partition_counts()) {
      const auto w = res.get("franz", "partitions_produce", "rate", 0, p), r = res.get("franz", "partitions_consume", "rate", 0, p);
      md += fmt::format("| {} | {} | {} |\n", p, rate(w), rate(r));
      dat += fmt::format("{} {:.0f} {:.0f}\n", p, w.value_or(0), r.value_or(0));
    }
    write_file(dir + "/partitions.dat", dat);
  }
  write_file(dir + "/summary.md", md);

  // 5. gnuplot input: throughput bars.
  std::string bars = "# system produce produce_fsync consume (records/s)\n";
  for (const auto& s : sys) {
    auto v = [&](const char* w) {
      const auto x = res.get(s, w, "rate");
      return x ? fmt::format("{:.0f}", *x) : std::string("?");
    };
    bars += fmt::format("{} {} {} {}\n", s, v("produce"), v("produce_fsync"), v("consume"));
  }
  write_file(dir + "/throughput.dat", bars);

  std::string gp =
      "set terminal svg size 960,520 dynamic noenhanced font 'DejaVu Sans,12' background rgb 'white'\n"
      "set datafile missing '?'\nset grid ytics\nset key top right\n";
  gp += "set output 'throughput.svg'\nset title 'Throughput, 100-byte records, batches of 1000 (log scale)'\n"
        "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.85 border -1\n"
        "set boxwidth 0.9\nset logscale y\nset format y '%.0s%c'\nset ylabel 'records/s'\nset xtics rotate by -30\n"
        "plot 'throughput.dat' using 2:xtic(1) title 'produce, no fsync', '' using 3 title 'produce, fsync per batch', "
        "'' using 4 title 'consume'\n";
  gp += "unset style\nset style data lines\nunset xtics\nset xtics\nset xtics norotate\n";
  for (const char* w : {"append_latency", "e2e"}) {
    std::string plots;
    for (const auto& s : sys) {
      const std::string f = fmt::format("cdf-{}-{}.dat", s, w);
      if (std::ifstream(dir + "/" + f))
        plots += fmt::format("{}'{}' using 1:2 with lines lw 2 title '{}'", plots.empty() ? "" : ", ", f, s);
    }
    if (plots.empty()) continue;
    gp += fmt::format(
        "set output '{}.svg'\nset title '{}'\nset logscale x\nunset logscale y\nset format x '%.0s%c'\nset format y '%.1f'\n"
        "set xlabel 'latency (ns, log scale)'\n"
        "set ylabel 'fraction of records'\nset yrange [0:1]\nset key bottom right\nplot {}\nset yrange [*:*]\n",
        std::string(w) == "e2e" ? "latency-e2e" : "latency-append",
        std::string(w) == "e2e" ? "Producer thread to consumer thread latency (CDF)"
                                : "Single-record append latency (CDF, no fsync)",
        plots);
  }
  if (!swept.empty()) {
    std::string plots;
    for (std::size_t i = 0; i < swept.size(); ++i)
      plots += fmt::format("{}'sizes.dat' using 1:{} with linespoints lw 2 title '{} produce'", i ? ", " : "",
                           2 + 2 * i, swept[i]);
    gp += fmt::format(
        "set output 'sizes.svg'\nset title 'Record-size sweep: produce, no fsync'\nset logscale x 2\nset logscale y\n"
        "set format x '%.0s%cB'\nset format y '%g'\nset xlabel 'record size (bytes)'\nset ylabel 'MB/s of records'\n"
        "set key top left\nplot {}\n",
        plots);
  }
  if (!res.partition_counts().empty()) {
    gp += "set output 'partitions.svg'\nset title 'franz partition scaling (one thread)'\nset logscale x 2\n"
          "unset logscale y\nset yrange [0:*]\nset format x '%g'\nset format y '%.0s%c'\nset xlabel 'partitions'\nset ylabel 'records/s'\nset key top right\n"
          "plot 'partitions.dat' using 1:2 with linespoints lw 2 title 'produce', '' using 1:3 with linespoints lw 2 "
          "title 'consume'\n";
  }
  gp += "unset output\n";
  write_file(dir + "/plots.gp", gp);
  std::printf("%s", md.c_str());
  return 0;
}
