"""Built-in components; each registers through an entry point in pyproject.toml."""
