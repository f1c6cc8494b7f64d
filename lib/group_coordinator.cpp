// franz — the group coordinator.
