"""The rules of the ticket shop and its gates: pure functions, no I/O."""
