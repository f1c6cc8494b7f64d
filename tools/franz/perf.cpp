#include "cli.hpp"

namespace franz::cli {

int run_perf(const context&, const perf_args&) {
  return report("perf", exit_failed, "not implemented yet");
}
}  // namespace franz::cli
