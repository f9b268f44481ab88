"""Consistency suite: surrogate losses and the H-consistency / Bayes-consistency claims made about them."""
