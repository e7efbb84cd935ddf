"""The rows every context reads and writes: users, stored settings, the audit trail, the mail queue."""
