"""Running the service: first start, maintenance, the mail worker."""
