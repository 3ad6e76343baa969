"""The runbooks API: runbooks and their access, versions, credential usage (exchange is in exchange/api.py)."""
