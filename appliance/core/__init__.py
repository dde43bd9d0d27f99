"""The pure core: the contract, the board and what is derived from it. No I/O, no asyncio."""
