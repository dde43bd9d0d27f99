"""The phone side: the Asterisk bridge and the simulated phone system, publishing the contract."""
