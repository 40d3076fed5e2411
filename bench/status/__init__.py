"""Live status: how long a room transition takes to reach the last of N clients (``__main__``)."""
