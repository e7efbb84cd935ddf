"""Platform settings other than 2FA: mail and SMS, system parameters."""
