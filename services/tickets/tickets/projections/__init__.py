from .admissions import admissions
from .sales import sales
from .visitors import visitors

__all__ = ["admissions", "sales", "visitors"]
