from .applications import router as applications_router
from .read_models import router as read_models_router

__all__ = ["applications_router", "read_models_router"]
