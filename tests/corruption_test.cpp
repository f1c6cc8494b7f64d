// franz — corruption tests (placeholder; being written).
