"""Figures and tables of the course; every plot function takes ``ax=None`` and returns its axes."""
