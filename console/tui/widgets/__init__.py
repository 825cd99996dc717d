"""Presentational widgets: they take plain dataclasses and post messages, and
import neither the store nor the policy set."""
