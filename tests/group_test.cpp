// Consumer groups through the public API.
#include "test_util.hpp"
