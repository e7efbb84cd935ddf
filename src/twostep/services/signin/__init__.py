"""Signing in with a password, what it earns, passwords (change, activation, reset) and sessions."""
