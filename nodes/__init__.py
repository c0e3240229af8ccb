"""Built-in node types, one per module; each module exposes its class as NODE_TYPE.

Nothing here imports Qt: node types run headless in the CLI and the executor.
"""
