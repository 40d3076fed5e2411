"""The media-stall bench: how long the garbage collector holds up media (see __main__.py)."""
