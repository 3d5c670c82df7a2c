"""The ``wrap`` representation: one new root node carries the fit (SPEC.md section 7).

The scene's root nodes become children of a new node whose TRS is the fit
(``scale`` then ``translation``: ``x' = s * x + t``). Geometry is untouched, so the
result is exact. Skinned mesh nodes (``mesh`` and ``skin``) stay scene roots: the
glTF spec ignores their own transform and the validator warns when they are not
roots; their joints move with the wrapper.

Every scene is wrapped with the same fit, so the other scenes keep working. Roots
are grouped by the set of scenes that list them; each group gets one wrapper, so a
node never gets two parents. With one scene, or scenes whose root lists are equal or
disjoint, that is one wrapper per scene.
"""

from __future__ import annotations

from typing import Any

from ..fit import Fit
from .scene import scene_roots

__all__ = ["WRAPPER_NAME", "is_skinned_mesh_node", "wrap_document"]

WRAPPER_NAME = "meshpivot_fit"


def is_skinned_mesh_node(node: dict[str, Any]) -> bool:
    """True for a node that has both ``mesh`` and ``skin``."""
    return "mesh" in node and "skin" in node


def _wrapper(fit: Fit, name: str, children: list[int]) -> dict[str, Any]:
    return {
        "name": name,
        "children": children,
        "translation": [float(v) for v in fit.translation],
        "scale": [float(v) for v in fit.scale],
    }


def wrap_document(data: dict[str, Any], fit: Fit) -> tuple[list[int], list[str]]:
    """Put every scene's roots under a new node carrying ``fit`` (JSON modified in place).

    Parameters
    ----------
    data : dict
        The glTF JSON; ``nodes`` and ``scenes[*].nodes`` are edited.
    fit : Fit

    Returns
    -------
    wrappers : list of int
        Indices of the added nodes (one per group of roots, see the module notes).
    notes : list of str
        Anything the user should know (several wrappers, skinned roots moved).

    Raises
    ------
    UnreadableInputError
        A scene names a node that does not exist.
    """
    nodes: list[dict[str, Any]] = data.setdefault("nodes", [])
    scenes = data.get("scenes") or []
    notes: list[str] = []
    # Which scenes list each wrapped root, in first-seen order.
    membership: dict[int, list[int]] = {}
    kept: dict[int, set[int]] = {}
    for s in range(len(scenes)):
        kept[s] = set()
        for r in scene_roots(data, s):
            node = nodes[r]
            if is_skinned_mesh_node(node):
                if node.get("children"):
                    notes.append(
                        f"skinned mesh node {r} has children, so it was placed under the wrapper "
                        "(the validator may warn NODE_SKINNED_MESH_NON_ROOT)"
                    )
                else:
                    kept[s].add(r)
                    continue
            membership.setdefault(r, [])
            if s not in membership[r]:
                membership[r].append(s)
    groups: dict[tuple[int, ...], list[int]] = {}
    for r, scene_list in membership.items():
        groups.setdefault(tuple(scene_list), []).append(r)
    wrapper_of: dict[int, int] = {}
    added: list[int] = []
    for k, members in enumerate(groups.values()):
        name = WRAPPER_NAME if k == 0 else f"{WRAPPER_NAME}_{k}"
        nodes.append(_wrapper(fit, name, members))
        added.append(len(nodes) - 1)
        for r in members:
            wrapper_of[r] = len(nodes) - 1
    split = False
    for s, scene in enumerate(scenes):
        if "nodes" not in scene:
            continue
        new_roots: list[int] = []
        for r in scene["nodes"]:
            target = r if r in kept[s] else wrapper_of[r]
            if target not in new_roots:
                new_roots.append(target)
        split = split or len([r for r in new_roots if r in added]) > 1
        scene["nodes"] = new_roots
    if split:
        notes.append(
            f"scenes share some root nodes, so {len(groups)} wrapper nodes carry the fit "
            "(one per group of shared roots) and a scene may have several"
        )
    return added, notes
