from .catalogue import router as catalogue_router
from .gates import router as gates_router
from .orders import router as orders_router
from .read_models import router as read_models_router
from .visitors import router as visitors_router

__all__ = [
    "catalogue_router",
    "gates_router",
    "orders_router",
    "read_models_router",
    "visitors_router",
]
