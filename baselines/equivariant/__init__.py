"""Reference equivariant models and symmetrization methods of the equivariance papers, each exposed as Subjects."""
