from .occupancy import occupancy
from .partner_feed import partner_feed
from .rooming import rooming

__all__ = ["occupancy", "partner_feed", "rooming"]
