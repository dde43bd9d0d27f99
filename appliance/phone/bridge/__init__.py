"""The phone-system side: bridges from a PBX to the MQTT contract."""
