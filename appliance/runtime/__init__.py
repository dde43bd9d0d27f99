"""Building blocks for the event loop that touch no device: broadcast, backoff, supervision."""
