"""This user's things: where settings and data live, provider keys (keyring, then the
environment), and the redaction that keeps every known secret out of what we write."""

from studio.core.userdata.paths import config_dir, data_dir, traces_dir

__all__ = ["config_dir", "data_dir", "traces_dir"]
