from .admissions import admissions
from .designs import designs
from .floor_plan import floor_plan
from .ledger import ledger

__all__ = ["admissions", "designs", "floor_plan", "ledger"]
