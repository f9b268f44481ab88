"""Weight matching of Git Re-Basin ("Git Re-Basin: Merging Models modulo Permutation Symmetries", Ainsworth, Hayase &
Srinivasa, ICLR 2023; arXiv:2209.04836): permute the hidden units of model B to align it with model A.

Weight matching maximizes sum_l <W_l^A, P_l W_l^B P_(l-1)^T> + <b_l^A, P_l b_l^B> over permutation matrices P_l
(P_0 and P_L the identity) by coordinate descent: with every other P fixed, the best P_l solves a linear assignment
problem with gain C_l = W_l^A P_(l-1) (W_l^B)^T + b_l^A (b_l^B)^T + (W_(l+1)^A)^T P_(l+1) W_(l+1)^B, solved with
scipy.optimize.linear_sum_assignment; layers are visited in a random order until a sweep changes nothing.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from baselines.equivariant.mlp_weights import pack, random_weights, unpack
from harness.equivariance import Subject
from harness.groups.weight_space import group_name

Matcher = Callable[[torch.Tensor, torch.Tensor, Sequence[int]], list[torch.Tensor]]


def permute_hidden(flat: torch.Tensor, widths: Sequence[int], perms: Sequence[torch.Tensor]) -> torch.Tensor:
    """Move neuron i of hidden layer l to position perms[l][i] (rows of W_l, b_l; columns of W_(l+1)); flat [..., P]."""
    layers = unpack(flat, widths)
    inv = [torch.arange(widths[0])] + [torch.argsort(p) for p in perms] + [torch.arange(widths[-1])]
    out = []
    for l, (w, b) in enumerate(layers, start=1):
        out.append((w[..., inv[l], :][..., inv[l - 1]], b[..., inv[l]]))
    return pack(out)


def weight_matching(flat_a: torch.Tensor, flat_b: torch.Tensor, widths: Sequence[int], max_sweeps: int = 100,
                    seed: int = 0) -> list[torch.Tensor]:
    """Permutations (B's neuron i goes to position perm[i]) that align B [P] to A [P] by weight matching."""
    la = [(w.numpy(), b.numpy()) for w, b in unpack(flat_a.detach().double().cpu(), widths)]
    lb = [(w.numpy(), b.numpy()) for w, b in unpack(flat_b.detach().double().cpu(), widths)]
    hidden = len(widths) - 2
    # rows[k] = index in B of the neuron placed at each position of layer k (k = 0 input, k = L output)
    rows = [np.arange(d) for d in widths]
    rng = np.random.default_rng(seed)
    for _ in range(max_sweeps):
        changed = False
        for l in rng.permutation(np.arange(1, hidden + 1)):
            (wa, ba), (wb, bb) = la[l - 1], lb[l - 1]
            (wa_next, _), (wb_next, _) = la[l], lb[l]
            gain = wa @ wb[:, rows[l - 1]].T + np.outer(ba, bb) + wa_next.T @ wb_next[rows[l + 1]]
            _, cols = linear_sum_assignment(gain, maximize=True)
            if not np.array_equal(cols, rows[l]):
                gain_old = gain[np.arange(len(cols)), rows[l]].sum()
                gain_new = gain[np.arange(len(cols)), cols].sum()
                if gain_new > gain_old + 1e-12 * max(1.0, abs(gain_old)):
                    rows[l], changed = cols, True
        if not changed:
            break
    return [torch.from_numpy(np.argsort(rows[l])) for l in range(1, hidden + 1)]


def align(flat_a: torch.Tensor, flat_b: torch.Tensor, widths: Sequence[int],
          matcher: Matcher = weight_matching) -> torch.Tensor:
    """B [N, P] permuted to match A [N, P] row by row with `matcher`."""
    out = [permute_hidden(b, widths, matcher(a, b, widths)) for a, b in zip(flat_a, flat_b)]
    return torch.stack(out).to(flat_b.dtype)


def planted_pairs(widths: Sequence[int]) -> Callable[[torch.Generator, int], tuple[torch.Tensor, torch.Tensor]]:
    """Input sampler: random A [B, P] and B = A with its hidden units randomly permuted (a functionally equal pair)."""
    def inputs(gen: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        a = random_weights(gen, widths, batch)
        perms = [torch.stack([torch.randperm(d, generator=gen) for _ in range(batch)]) for d in widths[1:-1]]
        b = torch.stack([permute_hidden(a[i], widths, [p[i] for p in perms]) for i in range(batch)])
        return a, b

    return inputs


def matcher_subject(matcher: Matcher, widths: Sequence[int]) -> Subject:
    """model(A [B, P], B [B, P]) -> B aligned to A. Declared invariant under hidden permutations of B (A is 'inv'):
    on the sampler's pairs of functionally equal networks an exact matcher returns A whatever order B's units have."""
    widths = tuple(int(d) for d in widths)

    def model(flat_a: torch.Tensor, flat_b: torch.Tensor) -> torch.Tensor:
        return align(flat_a, flat_b, widths, matcher)

    return Subject(model, group_name("HiddenPerm", widths), planted_pairs(widths), ("inv", "weights"), "inv",
                   method="rebasin")


def weight_matching_subject(widths: Sequence[int] = (5, 32, 32, 3)) -> Subject:
    """Git Re-Basin weight matching as a Subject (see `matcher_subject`)."""
    return matcher_subject(weight_matching, widths)
