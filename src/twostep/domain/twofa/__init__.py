"""Pure two-factor logic: provider types, platform settings, account rules, OTP math, codes."""
