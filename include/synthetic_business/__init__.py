"""A realistic synthetic SaaS business written as the ten raw tables of docs/data-contract.md."""

from .generate import generate_business

__all__ = ["generate_business"]
