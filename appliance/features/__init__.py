"""Features built on the core and the drivers: the hub, desks, history, sign and desk displays."""
