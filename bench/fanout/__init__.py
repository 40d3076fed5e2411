"""Media fan-out: one WHIP publisher, N WHEP viewers, the relay on one core (``__main__``)."""
