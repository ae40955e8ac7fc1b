from .attendance import router as attendance_router
from .forums import router as forums_router
from .read_models import router as read_models_router

__all__ = ["attendance_router", "forums_router", "read_models_router"]
