from .ads import router as ads_router
from .delivery import router as delivery_router
from .packages import router as packages_router
from .read_models import router as read_models_router

__all__ = ["ads_router", "delivery_router", "packages_router", "read_models_router"]
