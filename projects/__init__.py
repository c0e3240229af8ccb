"""Package data: the example flows, one per orchestration pattern (read through studio.packaged)."""
