"""Equivariance claims: the generic checker's claims for any Subject, and the equivariant papers' claims."""
