"""plenary's benchmarks, one package each, run from the repository root as modules:
``python -m bench.fanout``, ``python -m bench.registrations``, ``python -m bench.status``."""
