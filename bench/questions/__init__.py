"""The questions bench: asking, voting and moderation on SQLite with 1,000 attendees."""
