"""Checks of what the gateway sends and what the fakes answer against the providers' official definitions."""
