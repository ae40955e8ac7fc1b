from .desk import desk

__all__ = ["desk"]
