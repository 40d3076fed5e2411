"""Slow and oversized headers against plenary serve: see __main__.py."""
