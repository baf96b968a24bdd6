"""Model signatures: making them (sign) and verifying them (verify)."""
