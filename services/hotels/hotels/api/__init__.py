from .blocks import router as blocks_router
from .bookings import router as bookings_router
from .hotels import router as hotels_router
from .partner import router as partner_router
from .read_models import router as read_models_router

__all__ = [
    "blocks_router",
    "bookings_router",
    "hotels_router",
    "partner_router",
    "read_models_router",
]
