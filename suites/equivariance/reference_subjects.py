"""The baseline Subjects every generic equivariance claim runs on: one per kind of input and group."""
from __future__ import annotations

from harness import Reference

_E3NN = "baselines.equivariant.e3nn_models"
_BASE = "baselines.equivariant"

GENERIC_SUBJECTS: tuple[Reference, ...] = (
    Reference("e3nn tensor product 8x0e+8x1o+4x2e (O3)", f"{_E3NN}:tensor_product_subject"),
    Reference("e3nn spherical harmonics l<=4 (O3)", f"{_E3NN}:spherical_harmonics_subject"),
    Reference("EGNN, 3 layers (E3)", f"{_BASE}.egnn:egnn_subject"),
    Reference("Deep Sets layer (S6)", f"{_BASE}.deep_sets:equivariant_layer_subject"),
    Reference("partition layer, graph to graph (S5)", f"{_BASE}.partition_layers:partition_layer_subject"),
)

GRADIENT_SUBJECTS: tuple[Reference, ...] = (
    Reference("e3nn tensor product 8x0e+8x1o+4x2e (O3)", f"{_E3NN}:tensor_product_subject"),
    Reference("EGNN, 3 layers (E3)", f"{_BASE}.egnn:egnn_subject"),
    Reference("Deep Sets layer (S6)", f"{_BASE}.deep_sets:equivariant_layer_subject"),
    Reference("partition layer, graph to graph (S5)", f"{_BASE}.partition_layers:partition_layer_subject"),
)

LIE_SUBJECTS: tuple[Reference, ...] = tuple(
    r for r in GENERIC_SUBJECTS if r.target.rsplit(":", 1)[1] in ("tensor_product_subject", "spherical_harmonics_subject",
                                                                  "egnn_subject")
)
