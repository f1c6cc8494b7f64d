// franz — power_loss tests (placeholder; being written).
