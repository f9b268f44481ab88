"""Reference implementations of the papers' methods, one package per method family."""
