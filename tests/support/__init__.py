"""Real peers and fakes with behaviour, for the tests, the benchmarks and the docs."""
