"""The web: the aiohttp app, the WebSocket fan-out, the demo routes and the page."""
