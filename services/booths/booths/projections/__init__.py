from .designs import designs
from .floor_plan import floor_plan
from .ledger import ledger

__all__ = ["designs", "floor_plan", "ledger"]
