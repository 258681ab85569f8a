"""Simulated AI agent and model services for the observability lab."""
