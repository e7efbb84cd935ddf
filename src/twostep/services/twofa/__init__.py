"""Second factors: platform settings, a user's methods, enrollment, the second step and its attempts."""
