"""Fieldhook project package: loads the Celery app when Django starts."""

from app.celery import celery_app

__all__ = ["celery_app"]
__version__ = "0.1.0"
