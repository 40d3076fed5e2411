"""The programme-mix bench: what mixing a room's sources costs in CPU (see __main__.py)."""
