#include "cli.hpp"

namespace franz::cli {

int run_groups(const context&, const groups_args&) {
  return report("groups", exit_failed, "not implemented yet");
}
}  // namespace franz::cli
