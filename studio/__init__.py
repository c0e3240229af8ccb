"""Orchestra Studio: a desktop studio for AI orchestration.

The package splits into a headless core (``studio.core``), the provider layer
(``studio.llm``), built-in tools (``studio.tools``) and the Qt front end
(``studio.ui``). Only ``studio.ui`` may import Qt, so every flow can run headless.
"""

__version__ = "0.1.0"
