"""Settings: API keys, custom endpoints, pricing overrides, run defaults.

* API keys go to the OS keyring (studio.core.userdata.credentials) -- never a file -- and every
  keyring call runs off the GUI thread (a locked wallet can block for seconds). Each
  provider shows where its key comes from now: keyring, environment, or none. "Test"
  makes one cheap authenticated request (listing models) with that key, off the GUI thread.
* Custom OpenAI-compatible endpoints are named base URLs kept in the studio's settings;
  the one marked "use for runs" becomes the run-wide api_base (every LLM call of a run
  goes there), which is how local servers and proxies are used.
* Pricing overrides are written to the user's pricing.json, which the LLM layer reads
  (USD per million tokens, by model name or pattern such as ``ollama/*``).
* Defaults: the model given to new LLM nodes, the budget and the concurrency of runs.
* Secrets: named values (tokens, passwords) a flow uses as ``{{ secrets.NAME }}``, kept in
  the OS keyring like the keys (``orchestra secrets`` does the same headless). The list
  shows names and where each lives, never a value.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem,
                               QTabWidget, QVBoxLayout, QWidget)

from .background import Background

PROVIDERS = ("openai", "anthropic", "gemini", "mistral", "groq", "deepseek", "openrouter", "together_ai",
             "fireworks_ai", "xai", "cohere", "perplexity", "cerebras")

# a cheap authenticated GET per provider (lists models); custom endpoints use {base}/models
TEST_URLS = {
    "openai": "https://api.openai.com/v1/models",
    "anthropic": "https://api.anthropic.com/v1/models",
    "gemini": "https://generativelanguage.googleapis.com/v1beta/models",
    "mistral": "https://api.mistral.ai/v1/models",
    "groq": "https://api.groq.com/openai/v1/models",
    "deepseek": "https://api.deepseek.com/models",
    "openrouter": "https://openrouter.ai/api/v1/models",
    "together_ai": "https://api.together.xyz/v1/models",
    "fireworks_ai": "https://api.fireworks.ai/inference/v1/models",
    "xai": "https://api.x.ai/v1/models",
    "cohere": "https://api.cohere.com/v1/models",
    "perplexity": "https://api.perplexity.ai/models",
    "cerebras": "https://api.cerebras.ai/v1/models",
}


def test_connection(url: str, provider: str = "", key: str | None = None, timeout: float = 10.0) -> str:
    """One GET; a short human answer. Runs in a background thread."""
    import httpx

    headers = {}
    params = {}
    if key:
        if provider == "anthropic":
            headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
        elif provider == "gemini":
            params = {"key": key}
        else:
            headers = {"Authorization": f"Bearer {key}"}
    try:
        r = httpx.get(url, headers=headers, params=params, timeout=timeout)
    except httpx.HTTPError as exc:
        return f"✗ cannot reach {url}: {type(exc).__name__}: {exc}"
    if r.status_code in (401, 403):
        return f"✗ the server refused the key (HTTP {r.status_code})"
    if r.status_code >= 400:
        return f"✗ HTTP {r.status_code} from {url}"
    return f"✓ connected (HTTP {r.status_code})"


def load_endpoints(settings) -> list[dict[str, str]]:
    raw = settings.value("endpoints", "[]")
    try:
        data = json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        data = []
    return [d for d in data if isinstance(d, dict) and d.get("url")]


class SettingsDialog(QDialog):
    saved = Signal()

    def __init__(self, settings, parent=None):
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.setModal(False)
        self.settings = settings
        self.background = Background(self)
        self.resize(760, 520)
        tabs = QTabWidget()
        tabs.addTab(self._keys_tab(), "API keys")
        tabs.addTab(self._secrets_tab(), "Secrets")
        tabs.addTab(self._endpoints_tab(), "Endpoints")
        tabs.addTab(self._pricing_tab(), "Pricing")
        tabs.addTab(self._defaults_tab(), "Defaults")
        self.tabs = tabs
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Close)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.close)
        v = QVBoxLayout(self)
        v.addWidget(tabs, 1)
        v.addWidget(buttons)
        self.refresh_sources()
        self.refresh_secrets()

    def closeEvent(self, event) -> None:
        self.background.close()
        super().closeEvent(event)

    # -- API keys ------------------------------------------------------------------------

    def _keys_tab(self) -> QWidget:
        w = QWidget()
        self.keyring_note = QLabel("Checking the OS keyring…")
        self.keyring_note.setObjectName("keyringNote")
        self.keyring_note.setWordWrap(True)
        self.keys = QTableWidget(len(PROVIDERS), 4)
        self.keys.setObjectName("keysTable")
        self.keys.setHorizontalHeaderLabels(["Provider", "Key comes from", "New key", ""])
        self.keys.verticalHeader().hide()
        self.keys.horizontalHeader().setSectionResizeMode(2, QHeaderView.Stretch)
        self.key_edits: dict[str, QLineEdit] = {}
        self.source_items: dict[str, QTableWidgetItem] = {}
        self.test_results: dict[str, QLabel] = {}
        for row, prov in enumerate(PROVIDERS):
            self.keys.setItem(row, 0, QTableWidgetItem(prov))
            src = QTableWidgetItem("…")
            self.keys.setItem(row, 1, src)
            self.source_items[prov] = src
            edit = QLineEdit()
            edit.setObjectName(f"key_{prov}")
            edit.setEchoMode(QLineEdit.Password)
            edit.setPlaceholderText("paste a key to store it in the keyring")
            self.key_edits[prov] = edit
            self.keys.setCellWidget(row, 2, edit)
            cell = QWidget()
            h = QHBoxLayout(cell)
            h.setContentsMargins(2, 0, 2, 0)
            save = QPushButton("Save")
            save.setObjectName(f"saveKey_{prov}")
            save.clicked.connect(lambda _=False, p=prov: self.save_key(p))
            delete = QPushButton("Delete")
            delete.clicked.connect(lambda _=False, p=prov: self.delete_key(p))
            test = QPushButton("Test")
            test.setObjectName(f"testKey_{prov}")
            test.clicked.connect(lambda _=False, p=prov: self.test_key(p))
            for b in (save, delete, test):
                h.addWidget(b)
            self.keys.setCellWidget(row, 3, cell)
        self.keys.resizeColumnsToContents()
        self.keys.horizontalHeader().setSectionResizeMode(2, QHeaderView.Stretch)
        self.key_status = QLabel("")
        self.key_status.setObjectName("keyStatus")
        self.key_status.setWordWrap(True)
        v = QVBoxLayout(w)
        v.addWidget(self.keyring_note)
        v.addWidget(self.keys, 1)
        v.addWidget(self.key_status)
        return w

    def refresh_sources(self) -> None:
        def look() -> tuple[str | None, dict[str, Any]]:
            from studio.core.userdata import credentials

            credentials.forget_cached()
            problem = credentials.keyring_status()
            return problem, {p: credentials.key_info(p) for p in PROVIDERS}

        self.background.submit(look, self._show_sources, lambda exc: self.keyring_note.setText(f"Keyring check failed: {exc}"))

    def _show_sources(self, result) -> None:
        problem, infos = result
        self.keyring_note.setText(
            f"The OS keyring cannot be used here: {problem}. Keys can still come from environment variables "
            "(OPENAI_API_KEY, …); Orchestra never writes keys to a plain file." if problem else
            "Keys are stored in the OS keyring. A key in the keyring wins over the environment variable.")
        for prov, info in infos.items():
            text = {"keyring": "keyring", "environment": f"environment ({info.env_var})", "none": "none"}[info.source]
            self.source_items[prov].setText(text)

    def source_of(self, provider: str) -> str:
        return self.source_items[provider].text()

    def save_key(self, provider: str) -> None:
        value = self.key_edits[provider].text().strip()
        if not value:
            self.key_status.setText(f"Paste a key for {provider} first.")
            return

        def work() -> None:
            from studio.core.userdata import credentials

            credentials.set_key(provider, value)

        def done(_):
            self.key_edits[provider].clear()
            self.key_status.setText(f"Saved the {provider} key in the OS keyring.")
            self.refresh_sources()
            self.saved.emit()

        self.key_status.setText(f"Saving the {provider} key…")
        self.background.submit(work, done, lambda exc: self.key_status.setText(f"Not saved: {exc}"))

    def delete_key(self, provider: str) -> None:
        def work() -> bool:
            from studio.core.userdata import credentials

            return credentials.delete_key(provider)

        def done(found: bool) -> None:
            self.key_status.setText(f"Deleted the {provider} key from the keyring." if found else
                                    f"The keyring held no {provider} key.")
            self.refresh_sources()
            self.saved.emit()

        self.background.submit(work, done, lambda exc: self.key_status.setText(f"Not deleted: {exc}"))

    def test_key(self, provider: str) -> None:
        typed = self.key_edits[provider].text().strip()
        base = self.settings.value("run/api_base", "") or ""

        def work() -> str:
            from studio.core.userdata import credentials

            key = typed or credentials.find_key(provider)[0]
            if not key:
                return f"✗ no key for {provider} (keyring, environment or the field)"
            url = (base.rstrip("/") + "/models") if base and provider == "openai" else TEST_URLS.get(provider)
            if not url:
                return f"no test address known for {provider}"
            return test_connection(url, provider, key)

        self.key_status.setText(f"Testing {provider}…")
        self.background.submit(work, lambda msg: self.key_status.setText(f"{provider}: {msg}"),
                               lambda exc: self.key_status.setText(f"{provider}: ✗ {exc}"))

    # -- named secrets -------------------------------------------------------------------

    def _secrets_tab(self) -> QWidget:
        w = QWidget()
        note = QLabel("Tokens and passwords a flow needs (an API's Authorization header, say) live here, in the OS "
                      "keyring, never in the flow. A flow names one as <code>{{ secrets.NAME }}</code> in a Tool node's "
                      "arguments; the value is put in when the node runs and hidden in traces and logs.")
        note.setWordWrap(True)
        self.secrets_table = QTableWidget(0, 2)
        self.secrets_table.setObjectName("secretsTable")
        self.secrets_table.setHorizontalHeaderLabels(["Name", "Lives in"])
        self.secrets_table.verticalHeader().hide()
        self.secrets_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.secrets_table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.secret_name = QLineEdit()
        self.secret_name.setObjectName("secretName")
        self.secret_name.setPlaceholderText("NAME, e.g. GITHUB_TOKEN")
        self.secret_value = QLineEdit()
        self.secret_value.setObjectName("secretValue")
        self.secret_value.setEchoMode(QLineEdit.Password)
        self.secret_value.setPlaceholderText("the value (hidden)")
        store = QPushButton("Store")
        store.setObjectName("storeSecret")
        store.clicked.connect(self.store_secret)
        delete = QPushButton("Delete selected")
        delete.setObjectName("deleteSecret")
        delete.clicked.connect(self.delete_selected_secret)
        row = QHBoxLayout()
        row.addWidget(self.secret_name, 1)
        row.addWidget(self.secret_value, 2)
        row.addWidget(store)
        row.addWidget(delete)
        self.secret_status = QLabel("")
        self.secret_status.setObjectName("secretStatus")
        self.secret_status.setWordWrap(True)
        v = QVBoxLayout(w)
        v.addWidget(note)
        v.addWidget(self.secrets_table, 1)
        v.addLayout(row)
        v.addWidget(self.secret_status)
        return w

    def refresh_secrets(self) -> None:
        def look():
            from studio.core.userdata import credentials

            credentials.forget_cached()
            return credentials.secret_names()

        self.background.submit(look, self._show_secrets, lambda exc: self.secret_status.setText(f"Cannot list: {exc}"))

    def _show_secrets(self, rows) -> None:
        from studio.core.userdata.credentials import SECRET_ENV_PREFIX

        self.secrets_table.setRowCount(len(rows))
        for i, (name, source) in enumerate(rows):
            self.secrets_table.setItem(i, 0, QTableWidgetItem(name))
            where = "OS keyring" if source == "keyring" else f"environment ({SECRET_ENV_PREFIX}{name.upper()})"
            self.secrets_table.setItem(i, 1, QTableWidgetItem(where))
        self.secrets_table.resizeColumnToContents(1)

    def secret_rows(self) -> list[tuple[str, str]]:
        t = self.secrets_table
        return [(t.item(r, 0).text(), t.item(r, 1).text()) for r in range(t.rowCount())]

    def store_secret(self) -> None:
        name, value = self.secret_name.text().strip(), self.secret_value.text().strip()
        if not name or not value:
            self.secret_status.setText("Give a name and a value.")
            return

        def work() -> None:
            from studio.core.userdata import credentials

            credentials.set_secret(name, value)

        def done(_) -> None:
            self.secret_value.clear()
            self.secret_status.setText(f"Stored {name} in the OS keyring; use it as {{{{ secrets.{name} }}}}.")
            self.refresh_secrets()

        self.secret_status.setText(f"Storing {name}…")
        self.background.submit(work, done, lambda exc: self.secret_status.setText(f"Not stored: {exc}"))

    def delete_selected_secret(self) -> None:
        row = self.secrets_table.currentRow()
        if row < 0:
            self.secret_status.setText("Select a secret first.")
            return
        name = self.secrets_table.item(row, 0).text()

        def work() -> bool:
            from studio.core.userdata import credentials

            return credentials.delete_secret(name)

        def done(found: bool) -> None:
            self.secret_status.setText(f"Deleted {name}." if found else f"The keyring held no {name}.")
            self.refresh_secrets()

        self.background.submit(work, done, lambda exc: self.secret_status.setText(f"Not deleted: {exc}"))

    # -- endpoints -----------------------------------------------------------------------

    def _endpoints_tab(self) -> QWidget:
        w = QWidget()
        self.endpoints = QTableWidget(0, 2)
        self.endpoints.setObjectName("endpointsTable")
        self.endpoints.setHorizontalHeaderLabels(["Name", "Base URL (OpenAI-compatible, e.g. http://localhost:11434/v1)"])
        self.endpoints.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        for ep in load_endpoints(self.settings):
            self._add_endpoint_row(ep.get("name", ""), ep["url"])
        add = QPushButton("Add")
        add.clicked.connect(lambda: self._add_endpoint_row("local", "http://localhost:11434/v1"))
        remove = QPushButton("Remove")
        remove.clicked.connect(lambda: self.endpoints.removeRow(self.endpoints.currentRow()))
        test = QPushButton("Test connection")
        test.setObjectName("testEndpoint")
        test.clicked.connect(self.test_endpoint)
        self.use_for_runs = QComboBox()
        self.use_for_runs.setObjectName("runEndpoint")
        self.endpoint_status = QLabel("")
        self.endpoint_status.setObjectName("endpointStatus")
        self._fill_use_for_runs()
        self.endpoints.itemChanged.connect(lambda *_: self._fill_use_for_runs())
        row = QHBoxLayout()
        for b in (add, remove, test):
            row.addWidget(b)
        row.addStretch(1)
        form = QFormLayout()
        form.addRow("Send every LLM call of a run to", self.use_for_runs)
        v = QVBoxLayout(w)
        v.addWidget(self.endpoints, 1)
        v.addLayout(row)
        v.addLayout(form)
        v.addWidget(self.endpoint_status)
        return w

    def _add_endpoint_row(self, name: str, url: str) -> None:
        r = self.endpoints.rowCount()
        self.endpoints.insertRow(r)
        self.endpoints.setItem(r, 0, QTableWidgetItem(name))
        self.endpoints.setItem(r, 1, QTableWidgetItem(url))

    def endpoint_rows(self) -> list[dict[str, str]]:
        out = []
        for r in range(self.endpoints.rowCount()):
            name = self.endpoints.item(r, 0).text().strip() if self.endpoints.item(r, 0) else ""
            url = self.endpoints.item(r, 1).text().strip() if self.endpoints.item(r, 1) else ""
            if url:
                out.append({"name": name or url, "url": url})
        return out

    def _fill_use_for_runs(self) -> None:
        current = self.use_for_runs.currentData() if self.use_for_runs.count() else self.settings.value("run/api_base", "")
        self.use_for_runs.blockSignals(True)
        self.use_for_runs.clear()
        self.use_for_runs.addItem("(each node's own provider)", "")
        for ep in self.endpoint_rows():
            self.use_for_runs.addItem(f"{ep['name']} — {ep['url']}", ep["url"])
        i = self.use_for_runs.findData(current or "")
        self.use_for_runs.setCurrentIndex(max(0, i))
        self.use_for_runs.blockSignals(False)

    def test_endpoint(self) -> None:
        r = self.endpoints.currentRow()
        rows = self.endpoint_rows()
        if not rows:
            self.endpoint_status.setText("Add an endpoint first.")
            return
        url = rows[r if 0 <= r < len(rows) else 0]["url"]

        def work() -> str:
            from studio.core.userdata import credentials

            key = credentials.find_key("openai")[0]
            return test_connection(url.rstrip("/") + "/models", "openai", key)

        self.endpoint_status.setText(f"Testing {url}…")
        self.background.submit(work, self.endpoint_status.setText, lambda exc: self.endpoint_status.setText(f"✗ {exc}"))

    # -- pricing -------------------------------------------------------------------------

    def _pricing_path(self):
        from studio.core.userdata.paths import config_dir

        return config_dir() / "pricing.json"

    def _pricing_tab(self) -> QWidget:
        w = QWidget()
        self.pricing = QTableWidget(0, 3)
        self.pricing.setObjectName("pricingTable")
        self.pricing.setHorizontalHeaderLabels(["Model or pattern (e.g. ollama/*)", "Input $ / 1M tokens", "Output $ / 1M tokens"])
        self.pricing.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        try:
            data = json.loads(self._pricing_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        for model, entry in (data.items() if isinstance(data, dict) else []):
            if isinstance(entry, dict):
                i = entry.get("input_per_1m", float(entry.get("input_cost_per_token", 0) or 0) * 1e6)
                o = entry.get("output_per_1m", float(entry.get("output_cost_per_token", 0) or 0) * 1e6)
                self._add_price_row(model, str(i), str(o))
        add = QPushButton("Add")
        add.clicked.connect(lambda: self._add_price_row("", "0", "0"))
        remove = QPushButton("Remove")
        remove.clicked.connect(lambda: self.pricing.removeRow(self.pricing.currentRow()))
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        note = QLabel(f"Saved to {self._pricing_path()}; a flow's own pricing section wins over these.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #9aa3ad")
        self.pricing_status = QLabel("")
        v = QVBoxLayout(w)
        v.addWidget(self.pricing, 1)
        v.addLayout(row)
        v.addWidget(note)
        v.addWidget(self.pricing_status)
        return w

    def _add_price_row(self, model: str, i: str, o: str) -> None:
        r = self.pricing.rowCount()
        self.pricing.insertRow(r)
        for c, text in enumerate((model, i, o)):
            self.pricing.setItem(r, c, QTableWidgetItem(text))

    def pricing_rows(self) -> dict[str, dict[str, float]]:
        out = {}
        for r in range(self.pricing.rowCount()):
            cells = [self.pricing.item(r, c).text().strip() if self.pricing.item(r, c) else "" for c in range(3)]
            if not cells[0]:
                continue
            try:
                out[cells[0]] = {"input_per_1m": float(cells[1] or 0), "output_per_1m": float(cells[2] or 0)}
            except ValueError:
                raise ValueError(f"the price of {cells[0]} is not a number") from None
        return out

    # -- defaults ------------------------------------------------------------------------

    def _defaults_tab(self) -> QWidget:
        w = QWidget()
        self.default_model = QLineEdit(str(self.settings.value("run/default_model", "gpt-4o-mini") or ""))
        self.default_model.setObjectName("defaultModel")
        self.default_budget = QDoubleSpinBox()
        self.default_budget.setObjectName("defaultBudget")
        self.default_budget.setRange(0, 100000)
        self.default_budget.setPrefix("$")
        self.default_budget.setSpecialValueText("no limit")
        self.default_budget.setValue(float(self.settings.value("run/budget", 0.0) or 0.0))
        self.default_concurrency = QSpinBox()
        self.default_concurrency.setObjectName("defaultConcurrency")
        self.default_concurrency.setRange(1, 1000)
        self.default_concurrency.setValue(int(self.settings.value("run/concurrency", 16) or 16))
        form = QFormLayout(w)
        form.addRow("Model for new LLM nodes", self.default_model)
        form.addRow("Budget per run", self.default_budget)
        form.addRow("Concurrency", self.default_concurrency)
        return w

    # -- saving --------------------------------------------------------------------------

    def save(self) -> bool:
        try:
            prices = self.pricing_rows()
        except ValueError as exc:
            self.pricing_status.setText(f"Not saved: {exc}")
            self.tabs.setCurrentIndex(2)
            return False
        s = self.settings
        s.setValue("endpoints", json.dumps(self.endpoint_rows()))
        s.setValue("run/api_base", self.use_for_runs.currentData() or "")
        s.setValue("run/default_model", self.default_model.text().strip())
        s.setValue("run/budget", self.default_budget.value())
        s.setValue("run/concurrency", self.default_concurrency.value())
        s.sync()
        path = self._pricing_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(prices, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        except OSError as exc:
            self.pricing_status.setText(f"Pricing not saved: {exc}")
            return False
        self.pricing_status.setText("Saved.")
        self.saved.emit()
        return True
