"""What the benchmarks share: process plumbing and how a percentile is taken."""
