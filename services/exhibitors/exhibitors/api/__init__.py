from .agreements import router as agreements_router
from .applications import router as applications_router
from .booth import router as booth_router
from .cards import router as cards_router
from .companies import router as companies_router
from .editions import router as editions_router
from .leads import router as leads_router
from .meetings import router as meetings_router
from .public import router as public_router
from .read_models import router as read_models_router
from .statistics import router as statistics_router

__all__ = [
    "agreements_router",
    "applications_router",
    "booth_router",
    "cards_router",
    "companies_router",
    "editions_router",
    "leads_router",
    "meetings_router",
    "public_router",
    "read_models_router",
    "statistics_router",
]
