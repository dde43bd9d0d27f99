"""The LED sign: the Alpha protocol (sans-I/O), the layout, and what a sign would show."""
