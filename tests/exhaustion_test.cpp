// franz — exhaustion tests (placeholder; being written).
