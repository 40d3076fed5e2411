"""Registrations: sign-ups per second on SQLite, and no loss (``__main__``)."""
