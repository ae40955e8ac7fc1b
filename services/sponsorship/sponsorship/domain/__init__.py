"""The sponsorship desk's rules: pure functions, no I/O."""
