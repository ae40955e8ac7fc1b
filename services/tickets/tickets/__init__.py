"""Fairline tickets: visitors, products and quotas, orders and payments, signed tickets, gates."""
