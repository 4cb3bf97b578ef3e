"""The raw data contract in Python, and the check that a landing folder meets it before dbt runs."""

from .check import LandingProblem, check_landing, format_problems
from .contract import CONTRACT, Column, Table

__all__ = ["CONTRACT", "Column", "LandingProblem", "Table", "check_landing", "format_problems"]
