"""Representation specs: how one tensor of a Subject transforms (see DESIGN.md, `Subject`)."""
from __future__ import annotations

from dataclasses import dataclass

from e3nn import o3


class RepError(ValueError):
    """A representation spec is malformed or does not fit its tensor; the message is one line."""


@dataclass(frozen=True)
class Rep:
    """A parsed spec: `kind` is pos, irreps, inv, perm, grid or weights; `axes` for perm; `irreps` for irreps."""

    spec: str
    kind: str
    axes: tuple[int, ...] = ()
    irreps: o3.Irreps | None = None

    @property
    def dim(self) -> int | None:
        """The size of the last axis an irreps spec fixes."""
        return self.irreps.dim if self.irreps is not None else None


def parse_rep(spec: str) -> Rep:
    """Parse `"pos"`, `"inv"`, `"grid"`, `"weights"`, `"perm:<axis>[,<axis>...]"` or an e3nn irreps string."""
    if not isinstance(spec, str):
        raise RepError(f"a rep spec must be a string, got {type(spec).__name__}")
    s = spec.strip()
    if s in ("pos", "inv", "grid", "weights"):
        return Rep(s, s)
    if s.startswith("perm:"):
        try:
            axes = tuple(int(a) for a in s[5:].split(","))
        except ValueError:
            raise RepError(f"rep {spec!r}: expected perm:<axis>[,<axis>...] with integer axes") from None
        if any(a < 0 for a in axes) or len(set(axes)) != len(axes):
            raise RepError(f"rep {spec!r}: axes must be distinct non-negative per-sample axes (batch axis excluded)")
        return Rep(s, "perm", axes=axes)
    try:
        irreps = o3.Irreps(s)
    except Exception:
        raise RepError(f"rep {spec!r} is not pos, inv, grid, weights, perm:<axes> or an e3nn irreps string") from None
    if irreps.dim == 0:
        raise RepError(f"rep {spec!r}: empty irreps")
    return Rep(s, "irreps", irreps=irreps)
