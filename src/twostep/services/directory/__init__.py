"""Tenants, tenant profiles, customers and users, and the administration of accounts."""
