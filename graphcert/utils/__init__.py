"""Helpers every layer may use: input validation and atomic file writes."""
