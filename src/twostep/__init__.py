"""twostep: a two-factor authentication server that speaks ThingsBoard's REST API."""

__version__ = "0.1.0"
