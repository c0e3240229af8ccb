import pytest

from tests.guarantees import kinds
from tests.support.flows import reset_counters


@pytest.fixture(autouse=True)
def _fresh(tmp_path, monkeypatch):
    kinds.reset()
    reset_counters()
    monkeypatch.setenv("ORCHESTRA_DATA_DIR", str(tmp_path / "data"))
    yield
