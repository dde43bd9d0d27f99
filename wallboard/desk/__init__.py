"""The desk OLED screen, drawn from what the desk knows."""
