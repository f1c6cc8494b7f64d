// RocksDB 7.8 as a queue in the peer benchmarks (the shape: lsm_peer.hpp).
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "lsm_peer.hpp"

namespace {

struct rocks {
  using DB = rocksdb::DB;
  using Options = rocksdb::Options;
  using WriteOptions = rocksdb::WriteOptions;
  using ReadOptions = rocksdb::ReadOptions;
  using WriteBatch = rocksdb::WriteBatch;
  using Slice = rocksdb::Slice;
  using Iterator = rocksdb::Iterator;
  static constexpr const char* name = "rocksdb";
  static constexpr const char* options_text = "no compression, max_background_jobs=2, other options default";
  static constexpr bool fresh_iterator_per_poll = false;
  static void tune(Options& o) {
    o.compression = rocksdb::kNoCompression;
    o.max_background_jobs = 2;  // two cores
  }
  static void tail(ReadOptions& ro) { ro.tailing = true; }
};

}  // namespace

int main(int argc, char** argv) {
  peers::lsm_system<rocks> s;
  return peers::run(argc, argv, s);
}
