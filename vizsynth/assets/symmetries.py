"""Object symmetries: the rigid transforms that map a model onto itself (BOP's MSSD/MSPD/ADI need them).

Two kinds, as the BOP toolkit defines them (docs/bop_datasets_format.md, misc.get_symmetry_transformations):
discrete transforms ``T`` (4x4, the model's points ``T @ p`` are the model again) and continuous
rotational symmetries about an axis through a point (``offset``). The toolkit composes each
discrete transform with the discretised rotations of the continuous symmetries, one continuous
symmetry at a time; the identity is implied and never listed.

Built-in primitives have theirs here; mesh assets declare theirs in the config
(``objects.assets[].symmetries``, see ``vizsynth.config.SymmetriesConfig``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from vizsynth.assets.primitives import bin_size, is_bin


@dataclass(frozen=True)
class Symmetries:
    """A model's symmetries in its own frame and units.

    Attributes:
        discrete: (4, 4) float64 rigid transforms mapping the model onto itself, identity excluded.
        continuous: (axis (3,) float64 unit vector, offset (3,) float64 point on the axis) pairs.
    """

    discrete: tuple[np.ndarray, ...] = ()
    continuous: tuple[tuple[np.ndarray, np.ndarray], ...] = ()


NO_SYMMETRIES = Symmetries()
_Z_AXIS = (np.array([0.0, 0.0, 1.0]), np.zeros(3))


def _rigid(rotation: np.ndarray) -> np.ndarray:
    transform = np.eye(4)
    transform[:3, :3] = rotation
    return transform


def _cube_rotations() -> tuple[np.ndarray, ...]:
    """The 23 non-identity rotations of a cube centred at the origin: signed permutation matrices
    with determinant +1 (the 24-element rotation group of the cube, less the identity)."""
    rotations = []
    for permutation in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            matrix = np.zeros((3, 3))
            matrix[range(3), permutation] = signs
            if np.linalg.det(matrix) > 0 and not np.array_equal(matrix, np.eye(3)):
                rotations.append(_rigid(matrix))
    return tuple(rotations)


def _rotation_z(quarter_turns: int) -> np.ndarray:
    c, s = [(1, 0), (0, 1), (-1, 0), (0, -1)][quarter_turns % 4]
    return _rigid(np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]))


# A half turn about x (y -> -y, z -> -z): turns a shape that is symmetric about z upside down.
_FLIP = _rigid(np.diag([1.0, -1.0, -1.0]))

# The primitives of vizsynth.assets.primitives, all centred at the origin. Round shapes about z
# (cylinder, cone, torus, capsule) have a continuous symmetry about the z axis; those that are also
# mirror-symmetric in z add the half turn about x (with the continuous rotation, every half turn
# about an axis in the xy plane). The icosphere is round about every axis; BOP lists continuous
# axes one at a time, so it gets x, y and z.
_PRIMITIVES = {
    "cube": Symmetries(discrete=_cube_rotations()),
    "sphere": Symmetries(continuous=tuple((np.eye(3)[i], np.zeros(3)) for i in range(3))),
    "cylinder": Symmetries(discrete=(_FLIP,), continuous=(_Z_AXIS,)),
    "cone": Symmetries(continuous=(_Z_AXIS,)),
    "torus": Symmetries(discrete=(_FLIP,), continuous=(_Z_AXIS,)),
    "capsule": Symmetries(discrete=(_FLIP,), continuous=(_Z_AXIS,)),
}


def _bin_symmetries(name: str) -> Symmetries:
    """An open box (``bin:<x>:<y>:<z>:<wall>``): the half turn about its vertical axis, and the
    quarter turns too when its floor is square."""
    x, y, _, _ = bin_size(name)
    turns = (1, 2, 3) if x == y else (2,)
    return Symmetries(discrete=tuple(_rotation_z(k) for k in turns))


def primitive_symmetries(name: str) -> Symmetries:
    """The symmetries of a built-in primitive (unit size, centred at the origin)."""
    if is_bin(name):
        return _bin_symmetries(name)
    return _PRIMITIVES.get(name, NO_SYMMETRIES)


def declared_symmetries(config) -> Symmetries:
    """The Symmetries of a mesh asset's ``symmetries`` config block (mesh units), or none for None."""
    if config is None:
        return NO_SYMMETRIES
    discrete = tuple(np.asarray(values, dtype=np.float64).reshape(4, 4) for values in config.discrete)
    continuous = tuple(
        (np.asarray(c.axis, dtype=np.float64) / np.linalg.norm(c.axis), np.asarray(c.offset, dtype=np.float64))
        for c in config.continuous
    )
    return Symmetries(discrete, continuous)


def _number(value: float) -> float:
    # + 0.0 turns -0.0 into 0.0, so a JSON file never shows "-0.0" for an exact zero.
    return float(value) + 0.0


def bop_symmetries(symmetries: Symmetries, mm_per_unit: float) -> dict:
    """The models_info.json keys of a model's symmetries, translations scaled to millimetres.

    Args:
        symmetries: in the model's own units.
        mm_per_unit: millimetres per model unit (the written model's scale).

    Returns:
        ``{"symmetries_discrete": [[16 floats, row-major 4x4], ...],
        "symmetries_continuous": [{"axis": [3], "offset": [3]}, ...]}``, each key only when non-empty.
    """
    out: dict = {}
    if symmetries.discrete:
        rows = []
        for transform in symmetries.discrete:
            scaled = np.array(transform, dtype=np.float64)
            scaled[:3, 3] *= mm_per_unit
            rows.append([_number(v) for v in scaled.ravel()])
        out["symmetries_discrete"] = rows
    if symmetries.continuous:
        out["symmetries_continuous"] = [
            {"axis": [_number(v) for v in axis], "offset": [_number(v * mm_per_unit) for v in offset]}
            for axis, offset in symmetries.continuous
        ]
    return out
