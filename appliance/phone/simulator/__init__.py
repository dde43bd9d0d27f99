"""The phone-system simulator: the harness for demos, tests and benchmarks."""
