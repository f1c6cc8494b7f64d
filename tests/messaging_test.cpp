// placeholder
#include "test_util.hpp"
