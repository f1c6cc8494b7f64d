// Partition assignors against hand-checked tables.
#include "test_util.hpp"
