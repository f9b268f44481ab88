"""The baseline Subjects the generic equivariance claims run on: one per kind of input and group."""
from __future__ import annotations

from harness import Reference

_BASE = "baselines.equivariant"

TENSOR_PRODUCT = Reference("e3nn tensor product 8x0e+8x1o+4x2e (O3)", f"{_BASE}.e3nn_models:tensor_product_subject")
SPHERICAL_HARMONICS = Reference("e3nn spherical harmonics l<=4 (O3)", f"{_BASE}.e3nn_models:spherical_harmonics_subject")
GATE_POINTS = Reference("e3nn gate_points_2101 example network, exact radius graph (E3)",
                        f"{_BASE}.e3nn_models:gate_points_exact_graph_subject")
EGNN = Reference("EGNN, 3 layers (E3)", f"{_BASE}.egnn:egnn_subject")
FRAME_AVERAGED_MLP = Reference("frame-averaged MLP, 8-element PCA frame (E3)",
                               f"{_BASE}.frame_averaging:fa_equivariant_subject", bind={"frame": "O3"})
DEEP_SETS_LAYER = Reference("Deep Sets layer (S6)", f"{_BASE}.deep_sets:equivariant_layer_subject")
PARTITION_LAYER = Reference("partition layer, graph to graph (S5)", f"{_BASE}.partition_layers:partition_layer_subject")
CANONICALIZED_IMAGE = Reference("C4-canonicalized CNN on images (C4)", f"{_BASE}.canonicalization:image_equivariant_subject")
RELU_MLP_WEIGHTS = Reference("ReLU MLP as a function of its weights (HiddenPermScale(2,4,4,1))",
                             f"{_BASE}.mlp_weights:mlp_subject")
DWS_LAYER = Reference("DWS layer on (2,4,2) weight space (HiddenPerm)", f"{_BASE}.dws_layers:dws_layer_subject")
GRAM_SCHMIDT_6D = Reference("6D -> SO(3) Gram-Schmidt map (SO3)", f"{_BASE}.rotation_repr:gram_schmidt_subject")

GENERIC_SUBJECTS: tuple[Reference, ...] = (
    TENSOR_PRODUCT, SPHERICAL_HARMONICS, GATE_POINTS, EGNN, FRAME_AVERAGED_MLP, DEEP_SETS_LAYER, PARTITION_LAYER,
    CANONICALIZED_IMAGE, RELU_MLP_WEIGHTS, DWS_LAYER, GRAM_SCHMIDT_6D,
)
LIE_SUBJECTS: tuple[Reference, ...] = (
    TENSOR_PRODUCT, SPHERICAL_HARMONICS, GATE_POINTS, EGNN, FRAME_AVERAGED_MLP, RELU_MLP_WEIGHTS, GRAM_SCHMIDT_6D,
)
GRADIENT_SUBJECTS: tuple[Reference, ...] = (
    TENSOR_PRODUCT, GATE_POINTS, EGNN, FRAME_AVERAGED_MLP, DEEP_SETS_LAYER, PARTITION_LAYER, CANONICALIZED_IMAGE, RELU_MLP_WEIGHTS,
    DWS_LAYER,
)
