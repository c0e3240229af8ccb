"""Package data: the studio's theme, icons and default prices (read through studio.packaged)."""
