"""The glTF node graph: default scene, parents, local and world matrices.

Matrices are (4, 4) float64, column vectors on the right, translation in
``M[:3, 3]``. A node's local matrix is its ``matrix`` (stored column-major) or
``T @ R @ S`` from ``translation``, ``rotation`` (unit quaternion ``[x, y, z, w]``)
and ``scale``. ``node2world`` of a node is the product of local matrices from its
top ancestor down to it, whichever scene it belongs to.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import EmptyInputError, NonFiniteInputError, UnreadableInputError

__all__ = [
    "SceneGraph",
    "default_scene_index",
    "local_matrix",
    "quaternion_matrices",
    "scene_roots",
    "trs_matrix",
]

F64 = NDArray[np.float64]


def default_scene_index(data: dict[str, Any]) -> int:
    """The index of the default scene: ``scene``, else ``0``.

    Raises
    ------
    EmptyInputError
        The file has no scene (nothing is drawn).
    UnreadableInputError
        ``scene`` names a scene that does not exist.
    """
    scenes = data.get("scenes")
    if not isinstance(scenes, list) or not scenes:
        raise EmptyInputError("the file has no scene, so nothing is drawn")
    index = data.get("scene", 0)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(scenes):
        raise UnreadableInputError(f"/scene is {index!r}; the file has {len(scenes)} scenes")
    return index


def scene_roots(data: dict[str, Any], scene: int) -> list[int]:
    """The root node indices of ``scenes[scene]`` (validated)."""
    nodes = data.get("nodes", [])
    roots = data["scenes"][scene].get("nodes", [])
    if not isinstance(roots, list):
        raise UnreadableInputError(f"/scenes/{scene}/nodes is not an array")
    for k, n in enumerate(roots):
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < len(nodes):
            raise UnreadableInputError(f"/scenes/{scene}/nodes/{k} is {n!r}; the file has {len(nodes)} nodes")
    return list(roots)


def quaternion_matrices(q: NDArray[Any]) -> F64:
    """Rotation matrices of quaternions ``[x, y, z, w]``.

    Parameters
    ----------
    q : (n, 4) float
        Normalised on the fly (a non-unit quaternion gives its unit rotation).

    Returns
    -------
    (n, 3, 3) float64
    """
    q = np.asarray(q, dtype=np.float64).reshape(-1, 4)
    x, y, z, w = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    n2 = x * x + y * y + z * z + w * w
    s = np.divide(2.0, n2, out=np.zeros_like(n2), where=n2 > 0)
    r = np.empty((len(q), 3, 3))
    r[:, 0, 0] = 1 - s * (y * y + z * z)
    r[:, 0, 1] = s * (x * y - z * w)
    r[:, 0, 2] = s * (x * z + y * w)
    r[:, 1, 0] = s * (x * y + z * w)
    r[:, 1, 1] = 1 - s * (x * x + z * z)
    r[:, 1, 2] = s * (y * z - x * w)
    r[:, 2, 0] = s * (x * z - y * w)
    r[:, 2, 1] = s * (y * z + x * w)
    r[:, 2, 2] = 1 - s * (x * x + y * y)
    return r


def trs_matrix(
    translation: NDArray[Any] | None, rotation: NDArray[Any] | None, scale: NDArray[Any] | None
) -> F64:
    """``T @ R @ S`` as one (4, 4) float64 matrix (``None`` parts are identity)."""
    m = np.eye(4)
    if rotation is not None:
        m[:3, :3] = quaternion_matrices(np.asarray(rotation))[0]
    if scale is not None:
        m[:3, :3] *= np.asarray(scale, dtype=np.float64).reshape(1, 3)
    if translation is not None:
        m[:3, 3] = np.asarray(translation, dtype=np.float64).reshape(3)
    return m


def _numbers(node: dict[str, Any], key: str, n: int, where: str) -> NDArray[np.float64] | None:
    value = node.get(key)
    if value is None:
        return None
    ok = isinstance(value, list) and len(value) == n and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    )
    if not ok:
        text = repr(value)
        raise UnreadableInputError(f"{where}/{key} is {text[:60]}; expected {n} numbers")
    try:
        out = np.array(value, dtype=np.float64)
    except OverflowError:  # an integer beyond float64
        out = np.array([np.inf])
    if not np.isfinite(out).all():
        raise NonFiniteInputError(f"{where}/{key} is {value!r}; expected {n} finite numbers (no NaN or infinity)")
    return out


def local_matrix(node: dict[str, Any], where: str = "node") -> F64:
    """A node's local (4, 4) matrix from ``matrix`` or TRS.

    Raises
    ------
    UnreadableInputError
        ``matrix``/``translation``/``rotation``/``scale`` of the wrong length or type.
    """
    mat = _numbers(node, "matrix", 16, where)
    if mat is not None:
        return np.array(mat.reshape(4, 4).T)
    return trs_matrix(
        _numbers(node, "translation", 3, where),
        _numbers(node, "rotation", 4, where),
        _numbers(node, "scale", 3, where),
    )


class SceneGraph:
    """Parents, children and world matrices of every node of a glTF file.

    Parameters
    ----------
    data : dict
        The glTF JSON.

    Attributes
    ----------
    parent : list of int
        ``-1`` for a node without a parent.
    children : list of list of int
    local : list of (4, 4) float64
    world : list of (4, 4) float64
        ``node2world`` of each node (product from its top ancestor).

    Raises
    ------
    UnreadableInputError
        A child index out of range, a node with two parents, or a cycle.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        nodes = data.get("nodes", [])
        if not isinstance(nodes, list):
            raise UnreadableInputError("/nodes is not an array")
        n = len(nodes)
        self.parent = [-1] * n
        self.children: list[list[int]] = []
        for i, node in enumerate(nodes):
            if not isinstance(node, dict):
                raise UnreadableInputError(f"/nodes/{i} is not an object")
            kids = node.get("children", [])
            if not isinstance(kids, list):
                raise UnreadableInputError(f"/nodes/{i}/children is not an array")
            for k, c in enumerate(kids):
                if not isinstance(c, int) or isinstance(c, bool) or not 0 <= c < n:
                    raise UnreadableInputError(f"/nodes/{i}/children/{k} is {c!r}; the file has {n} nodes")
                if self.parent[c] != -1:
                    raise UnreadableInputError(
                        f"/nodes/{c} has two parents (/nodes/{self.parent[c]} and /nodes/{i})"
                    )
                self.parent[c] = i
            self.children.append(list(kids))
        self.local = [local_matrix(node, f"/nodes/{i}") for i, node in enumerate(nodes)]
        self.world: list[F64] = [np.eye(4)] * n
        order = self._topological_order(n)
        for i in order:
            p = self.parent[i]
            self.world[i] = self.local[i] if p < 0 else self.world[p] @ self.local[i]
            if not np.isfinite(self.world[i]).all():
                raise NonFiniteInputError(
                    f"/nodes/{i}: its world matrix overflows (not finite); the node transforms are too large"
                )

    def _topological_order(self, n: int) -> list[int]:
        order: list[int] = []
        stack = [i for i in range(n) if self.parent[i] < 0]
        while stack:
            i = stack.pop()
            order.append(i)
            stack.extend(self.children[i])
        if len(order) != n:
            seen = set(order)
            bad = next(i for i in range(n) if i not in seen)
            raise UnreadableInputError(f"/nodes/{bad} is part of a cycle in the node hierarchy")
        return order

    def descendants(self, roots: list[int]) -> list[int]:
        """Nodes reachable from ``roots`` (roots included), parents before children."""
        out: list[int] = []
        stack = list(reversed(roots))
        while stack:
            i = stack.pop()
            out.append(i)
            stack.extend(reversed(self.children[i]))
        return out
