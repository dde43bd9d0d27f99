"""Drivers at the edge: each moves bytes to or from one kind of device or service."""
