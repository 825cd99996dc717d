"""One module per screen; each owns its bindings, data wiring and styles."""
