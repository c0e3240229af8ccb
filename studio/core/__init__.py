"""The headless core: types, node declarations, graph model, file format, validation.

Nothing in this package imports Qt; the studio is a view of it and the CLI uses it
unchanged.
"""
