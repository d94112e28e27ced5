"""Pre-compiled schema validators (generated)."""
