"""Rotation representations of "On the Continuity of Rotation Representations in Neural Networks" (Zhou, Barnes, Lu,
Yang & Li, CVPR 2019; arXiv:1812.07035): the continuous 6D representation (the first two columns of R, decoded by
Gram-Schmidt) and the discontinuous ones it replaces (the unit quaternion with w >= 0, ZYX Euler angles).

Convention of the Subjects: a rotation R is passed as its three columns stacked along axis -2, i.e. the tensor R^T of
shape [B, 3, 3]; a rotation Q of the world acts by R -> QR, which rotates every column ("1x1o" on the last axis). The
6D code is the first two columns, [B, 2, 3], which rotate the same way.
"""
from __future__ import annotations

import torch

from harness.equivariance import Subject
from harness.groups import parse_group


def gram_schmidt(v: torch.Tensor) -> torch.Tensor:
    """6D code [..., 2, 3] (vectors a1, a2) -> rotation columns [..., 3, 3]: b1 = a1/|a1|, b2 = unit part of a2
    orthogonal to b1, b3 = b1 x b2 (Zhou et al., eq. 16)."""
    a1, a2 = v[..., 0, :], v[..., 1, :]
    b1 = a1 / a1.norm(dim=-1, keepdim=True)
    u2 = a2 - (b1 * a2).sum(-1, keepdim=True) * b1
    b2 = u2 / u2.norm(dim=-1, keepdim=True)
    return torch.stack([b1, b2, torch.linalg.cross(b1, b2, dim=-1)], -2)


def six_d(columns: torch.Tensor) -> torch.Tensor:
    """Rotation columns [..., 3, 3] -> the 6D code: the first two columns [..., 2, 3]."""
    return columns[..., :2, :]


def quaternion_from_matrix(R: torch.Tensor) -> torch.Tensor:
    """R [..., 3, 3] -> unit quaternion (w, x, y, z) [..., 4] canonicalized to w >= 0 (the usual half-sphere chart)."""
    m = R
    t = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    candidates = torch.stack([
        torch.stack([1 + t, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1),
        torch.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                     m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0]], -1),
        torch.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0],
                     1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2], m[..., 1, 2] + m[..., 2, 1]], -1),
        torch.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1],
                     1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2]], -1),
    ], -2)
    diag = torch.stack([t, m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]], -1)
    best = diag.argmax(-1)
    q = torch.take_along_dim(candidates, best[..., None, None], dim=-2).squeeze(-2)
    q = q / q.norm(dim=-1, keepdim=True)
    return torch.where(q[..., :1] < 0, -q, q)


def euler_zyx_from_matrix(R: torch.Tensor) -> torch.Tensor:
    """R = Rz(yaw) Ry(pitch) Rx(roll) [..., 3, 3] -> (yaw, pitch, roll) [..., 3] with atan2/asin branches."""
    yaw = torch.atan2(R[..., 1, 0], R[..., 0, 0])
    pitch = torch.asin((-R[..., 2, 0]).clamp(-1.0, 1.0))
    roll = torch.atan2(R[..., 2, 1], R[..., 2, 2])
    return torch.stack([yaw, pitch, roll], -1)


def axis_angle_matrix(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula: unit axes [..., 3], angles [...] -> R [..., 3, 3]."""
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    K = torch.stack([torch.stack([zero, -z, y], -1), torch.stack([z, zero, -x], -1),
                     torch.stack([-y, x, zero], -1)], -2)
    s, c = torch.sin(angle)[..., None, None], torch.cos(angle)[..., None, None]
    eye = torch.eye(3, dtype=axis.dtype).expand(K.shape)
    return eye + s * K + (1 - c) * (K @ K)


def euler_zyx_matrix(angles: torch.Tensor) -> torch.Tensor:
    """(yaw, pitch, roll) [..., 3] -> Rz(yaw) Ry(pitch) Rx(roll) [..., 3, 3]."""
    yaw, pitch, roll = angles.unbind(-1)
    e = torch.eye(3, dtype=angles.dtype)
    return axis_angle_matrix(e[2].expand(*yaw.shape, 3), yaw) @ axis_angle_matrix(e[1].expand(*yaw.shape, 3), pitch) \
        @ axis_angle_matrix(e[0].expand(*yaw.shape, 3), roll)


def haar_columns(gen: torch.Generator, batch: int) -> torch.Tensor:
    """Haar-random rotations as stacked columns R^T [batch, 3, 3]."""
    return parse_group("SO3").sample(gen, batch).R.transpose(-1, -2).contiguous()


def gram_schmidt_subject() -> Subject:
    """The 6D decoder: model(6D code [B, 2, 3]) -> rotation columns [B, 3, 3]; SO(3)-equivariant."""
    def inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor]:
        return (torch.randn(batch, 2, 3, generator=gen, dtype=torch.float64),)

    return Subject(gram_schmidt, "SO3", inputs, "1x1o", "1x1o", method="rotation-6d")


def six_d_encoder_subject() -> Subject:
    """The 6D encoder: model(rotation columns [B, 3, 3]) -> the first two columns [B, 2, 3]; SO(3)-equivariant."""
    return Subject(six_d, "SO3", lambda gen, batch: (haar_columns(gen, batch),), "1x1o", "1x1o",
                   method="rotation-6d")
