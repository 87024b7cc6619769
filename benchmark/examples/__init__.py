"""Example model files for ``bench preflight`` / ``bench evaluate`` (templates for users)."""
