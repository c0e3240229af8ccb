"""The studio's widget-test fixtures (offscreen Qt, private settings, no unexpected dialogs)."""

from tests.ui.conftest import _studio_env, loopback, settings, window  # noqa: F401
