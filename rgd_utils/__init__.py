"""rgd_utils."""
