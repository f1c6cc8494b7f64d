#include "cli.hpp"

namespace franz::cli {

int run_topics(const context&, const topics_args&) {
  return report("topics", exit_failed, "not implemented yet");
}

int run_delete_records(const context&, const delete_records_args&) {
  return report("topics2", exit_failed, "not implemented yet");
}
}  // namespace franz::cli
