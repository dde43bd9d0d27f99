"""The programs: the service wiring, the `hotline` command, the demo, first boot."""
