from .construction import router as construction_router
from .inventory import router as inventory_router
from .prices import router as prices_router
from .read_models import router as read_models_router
from .sales import router as sales_router

__all__ = [
    "construction_router",
    "inventory_router",
    "prices_router",
    "read_models_router",
    "sales_router",
]
