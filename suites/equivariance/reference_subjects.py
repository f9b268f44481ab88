"""The baseline Subjects every generic equivariance claim runs on: one per kind of input and group."""
from __future__ import annotations

from harness import Reference

_E3NN = "baselines.equivariant.e3nn_models"

GENERIC_SUBJECTS: tuple[Reference, ...] = (
    Reference("e3nn tensor product 8x0e+8x1o+4x2e (O3)", f"{_E3NN}:tensor_product_subject"),
    Reference("e3nn spherical harmonics l<=4 (O3)", f"{_E3NN}:spherical_harmonics_subject"),
)

GRADIENT_SUBJECTS: tuple[Reference, ...] = (
    Reference("e3nn tensor product 8x0e+8x1o+4x2e (O3)", f"{_E3NN}:tensor_product_subject"),
)
