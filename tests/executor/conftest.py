import pytest

from tests.support.flows import reset_counters


@pytest.fixture(autouse=True)
def _counters(tmp_path, monkeypatch):
    reset_counters()
    monkeypatch.setenv("ORCHESTRA_DATA_DIR", str(tmp_path / "data"))
    yield
