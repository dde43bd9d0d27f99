"""Presentation: what the wallboard, the sign and the desk displays show."""
