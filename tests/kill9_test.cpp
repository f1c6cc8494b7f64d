// franz — kill9 tests (placeholder; being written).
