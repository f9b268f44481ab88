"""The claims, one package per suite; each claim runs as a pytest test and from the CLI."""
