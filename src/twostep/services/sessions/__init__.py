"""Tokens and sessions: issuing, checking and revoking them, and the transaction rules of issuing."""
