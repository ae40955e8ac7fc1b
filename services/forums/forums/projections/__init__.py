from .programme import programme

__all__ = ["programme"]
