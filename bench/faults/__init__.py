"""Fault injection under load (`make faults`); see run.py."""
