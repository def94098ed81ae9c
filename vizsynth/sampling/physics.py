"""Placement "physics": objects dropped from random poses into a bin (or onto the plane z = 0) and
simulated with PyBullet until at rest; the settled poses become the frame's poses.

Only sampling runs the simulation: the settled poses are written into the SceneSpec (and so into the
frame record), so replay, resume and render-scene never need PyBullet. PyBullet is imported inside
the functions that simulate, so ``import vizsynth`` works without it.

Determinism: every random number (drop poses, masses, friction, restitution) comes from the frame's
own ``physics`` stream; the simulation has a fixed time step and step bound and runs in one
single-threaded DIRECT client per process, reset before every drop. The same PyBullet build on the
same platform then gives the same poses bit for bit; other platforms and builds may differ in the
last bits of the floats.

Collision shapes: the convex hull of each object's mesh (``collision: hull``: a concave object rests
on its hull, a mug never holds anything) or the compound of its V-HACD convex parts (``collision:
vhacd``, decomposed once per asset and cached on disk: vizsynth.assets.decomposition), boxes for
the bin's base and walls (exact for the parametric bin), or the exact triangles of a mesh container
(``container.mesh``: a static body, so Bullet allows it to be concave), the plane z = 0 below everything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np
import trimesh

from vizsynth.assets.meshes import has_own_appearance, load_mesh_file
from vizsynth.assets.primitives import bin_boxes, bin_name, bin_size, is_bin
from vizsynth.config import PhysicsConfig
from vizsynth.errors import PlacementError, VizsynthError
from vizsynth.sampling.poses import quaternion_to_matrix
from vizsynth.scene import MaterialSpec, ObjectSpec

GRAVITY_M_S2 = 9.81
# Contacts are solved with more iterations than Bullet's default (10): piles of 30 objects then
# settle without sinking into each other.
SOLVER_ITERATIONS = 50
# Velocities are compared with the rest threshold every this many steps (reading them every step
# costs as much as the step).
CHECK_EVERY_STEPS = 10
# At rest means slow at this many checks in a row: a single slow check can be a bounce's apex or
# the turning point of a rocking object.
REST_CHECKS = 6
# At rest also means a physical rest state, not only a slow moment of one run: the settled poses,
# started again at zero speed in a fresh world, must stay put for REST_PROBE_S, no hull vertex
# moving more than REST_MOVE_M. Bullet warm-starts contact impulses from step to step and a
# restart loses them, so an object held by friction on a slope can slip where the uninterrupted
# run held it; such a pile is settled again from the restarted state until the probe passes.
REST_PROBE_S = 1.0
REST_MOVE_M = 0.001
# A pile fills at most this fraction of the bin up to its walls (sum of convex hull volumes);
# random piles of solids pack at 0.3..0.6, so more than this overflows the walls.
MAX_FILL = 0.35
# A mesh container's drop area is its bounding box's footprint less this fraction of each side at
# every edge: objects start over its inside, not over a rim, where its walls are thinner than this.
MESH_DROP_MARGIN = 0.1
# A triangle has no inside: an object whose corner passes more than halfway through a mesh
# container's floor or wall in one step is pushed on through it. Falling 0.3 m (the default
# drop_height_m over a 0.1 m tray), at 1/240 s steps 8 of 30 drops lost an object through an 8 mm
# floor, at 1/480 s none: drops into a mesh container step at most this long.
MESH_MAX_STEP_S = 1 / 480
# Thrown objects land at metres per second: at 1/240 s steps Bullet let them sink up to 1.9 mm into
# the bin's floor at impact, close to the 2 mm the tests allow, at 1/480 s not at all
# (benchmarks/throw_sinking.py: 6 sequences of 4 thrown primitives, every step), so a throw steps at
# most this long whatever time_step_s says.
THROW_MAX_STEP_S = 1 / 480
INSTALL_HINT = "placement 'physics' needs PyBullet: pip install 'vizsynth[physics]' (pybullet==3.2.7)"

_client: dict = {}
# Each process loads a mesh container's file once: {(path, unit_scale_m): ContainerMesh}.
_container_meshes: dict = {}


@dataclass(frozen=True)
class Body:
    """What the simulation needs of one object.

    Attributes:
        hull: (N, 3) float64 convex hull vertices in metres, about the hull's centre of mass.
        com: (3,) float64 the hull's centre of mass in the object frame, metres.
        radius_m: bounding-sphere radius about ``com``.
        volume_m3: the hull's volume.
        parts_file: None to collide as the hull, or an OBJ file of convex parts (V-HACD, mesh units) to
            collide as their compound.
        scale: metres per mesh unit (of ``parts_file``).
    """

    hull: np.ndarray
    com: np.ndarray
    radius_m: float
    volume_m3: float
    parts_file: str | None = None
    scale: float = 1.0


def body_of(hull: trimesh.Trimesh, scale: float, parts_file: str | None = None) -> Body:
    """The collision body of an asset's (unscaled, convex) hull drawn at ``scale`` metres per mesh unit,
    colliding as its hull or, given ``parts_file``, as the compound of those convex parts. Both share
    the hull's centre of mass and its bounding sphere (which the parts lie inside)."""
    com = np.asarray(hull.center_mass, dtype=np.float64) * scale
    vertices = np.asarray(hull.vertices, dtype=np.float64) * scale - com
    return Body(vertices, com, float(np.linalg.norm(vertices, axis=1).max()), float(hull.volume) * scale**3,
                parts_file, float(scale))


@dataclass(frozen=True)
class Drop:
    """The drawn start of one object: (4, 4) pose of its centre of mass and its contact properties."""

    com_to_world: np.ndarray
    mass_kg: float
    friction: float
    rolling_friction: float
    restitution: float


@dataclass(frozen=True)
class ContainerMesh:
    """A mesh container (``container.mesh``) where it stands: lowest point on z = 0, its bounding box
    centred in x, y on the origin.

    Attributes:
        obj_to_world: (4, 4) float64 the mesh file's frame (scaled to metres) -> world: a translation.
        vertices: (N, 3) float64 its vertices in the world, metres.
        faces: (F, 3) int64 its triangles, indices into ``vertices``.
        half_m: (2,) float64 half the bounding box's x, y extents (the footprint), metres.
        height_m: its bounding box's height, metres.
        own_appearance: whether the file has its own texture or colours (then no colour is given).
    """

    obj_to_world: np.ndarray
    vertices: np.ndarray
    faces: np.ndarray
    half_m: np.ndarray
    height_m: float
    own_appearance: bool


def container_mesh(config: PhysicsConfig) -> ContainerMesh | None:
    """The mesh container of ``config`` where it stands (loaded once per process), or None: no mesh container.

    Raises:
        AssetError: the file is missing or unusable (load_config_assets checks it before a job starts).
    """
    c = config.container
    if not c.enabled or c.mesh is None:
        return None
    key = (c.mesh, c.unit_scale_m)
    if key not in _container_meshes:
        mesh = load_mesh_file(c.mesh)
        scaled = np.asarray(mesh.vertices, dtype=np.float64) * c.unit_scale_m
        low, high = scaled.min(axis=0), scaled.max(axis=0)
        pose = np.eye(4)
        pose[:3, 3] = [-(low[0] + high[0]) / 2, -(low[1] + high[1]) / 2, -low[2]]
        _container_meshes[key] = ContainerMesh(pose, scaled + pose[:3, 3], np.asarray(mesh.faces, dtype=np.int64),
                                               (high[:2] - low[:2]) / 2, float(high[2] - low[2]),
                                               has_own_appearance(mesh))
    return _container_meshes[key]


def container_object(config: PhysicsConfig, instance_id: int, *, rng: np.random.Generator) -> ObjectSpec | None:
    """The bin (or mesh container) as an object (unlabelled unless ``container.category``), or None without one.

    Draws its colour from ``rng`` (always, so the stream advances the same way either way); a mesh
    with its own texture or colours keeps them.
    """
    c = config.container
    color = tuple(float(v.sample(rng=rng)) for v in c.color)
    if not c.enabled:
        return None
    mesh = container_mesh(config)
    if mesh is not None:
        return ObjectSpec(
            instance_id=instance_id, category=c.category or "container", primitive=None, mesh=c.mesh,
            mesh_scale=float(c.unit_scale_m), obj_to_world=mesh.obj_to_world.copy(),
            material=None if mesh.own_appearance else MaterialSpec(color, 0.0, 0.8), distractor=c.category is None,
        )
    x, y = c.size_m
    pose = np.eye(4)
    pose[2, 3] = c.wall_height_m / 2  # the primitive is centred on its bounding box
    return ObjectSpec(
        instance_id=instance_id, category=c.category or "container",
        primitive=bin_name(x, y, c.wall_height_m, c.wall_thickness_m), mesh=None,
        mesh_scale=float(max(x, y, c.wall_height_m)), obj_to_world=pose,
        material=MaterialSpec(color, 0.0, 0.8), distractor=c.category is None,
    )


def support_area(config: PhysicsConfig) -> tuple[np.ndarray, float, float | None]:
    """(half extents (2,) of the area objects are dropped over, height of its floor, wall top or None).

    A mesh container's area is its footprint less MESH_DROP_MARGIN of each side, its floor z = 0
    (its lowest point: where its real floor is, is not known), its top the bounding box's.
    """
    c = config.container
    if not c.enabled:
        return np.asarray(config.drop_extent_m, dtype=np.float64), 0.0, None
    mesh = container_mesh(config)
    if mesh is not None:
        return mesh.half_m * (1 - 2 * MESH_DROP_MARGIN), 0.0, mesh.height_m
    inside = np.asarray(c.size_m, dtype=np.float64) / 2 - c.wall_thickness_m
    return inside, c.wall_thickness_m, c.wall_height_m


def draw_drops(bodies: list[Body], config: PhysicsConfig, *, rng: np.random.Generator, index: int) -> list[Drop]:
    """Draws each body's start pose and contact properties, in body order.

    Each object gets a uniform rotation, a centre uniform over the area (kept a radius inside the
    walls), and a height ``drop_height_m`` above the floor (a mesh container's: above its top, so no
    object starts inside its walls or floor), raised until its bounding sphere clears every sphere
    drawn before it: the drop starts without interpenetration.

    Raises:
        PlacementError: an object wider than the area, or objects too big for the bin (naming the
            frame and the limit).
    """
    half, floor_z, wall_z = support_area(config)
    mesh = container_mesh(config)
    for k, body in enumerate(bodies):
        if np.any(half - body.radius_m <= 0):
            raise PlacementError(
                f"frame {index}: the container is too small for object {k + 1}: its bounding diameter "
                f"{2 * body.radius_m:.3f} m exceeds the limit of {2 * half.min():.3f} m (the drop area's inside "
                "width); use smaller objects or a larger objects.physics.container (or drop_extent_m)"
            )
    if wall_z is not None:
        volume = float(sum(b.volume_m3 for b in bodies))
        # A mesh container's inside is not known: its bounding box stands for it.
        inside = 4 * mesh.half_m[0] * mesh.half_m[1] * mesh.height_m if mesh is not None \
            else 4 * half[0] * half[1] * (wall_z - floor_z)
        limit = MAX_FILL * inside
        what = "the mesh container's bounding box" if mesh is not None else "the bin's inside"
        if volume > limit:
            raise PlacementError(
                f"frame {index}: the container is too small for the objects: their {len(bodies)} convex hulls hold "
                f"{volume:.4g} m^3, above the limit of {limit:.4g} m^3 ({MAX_FILL:g} of {what}); use fewer "
                "or smaller objects or a larger objects.physics.container"
            )
    drops: list[Drop] = []
    centres: list[tuple[np.ndarray, float]] = []
    for body in bodies:
        q = rng.normal(size=4)
        rotation = quaternion_to_matrix(q / np.linalg.norm(q))
        room = half - body.radius_m
        xy = rng.uniform(-room, room)
        z = (wall_z if mesh is not None else floor_z) + body.radius_m + float(config.drop_height_m.sample(rng=rng))
        for centre, radius in centres:
            reach = body.radius_m + radius
            d = float(np.linalg.norm(xy - centre[:2]))
            if d < reach:
                z = max(z, centre[2] + np.sqrt(reach * reach - d * d) + 1e-3)
        pose = np.eye(4)
        pose[:3, :3] = rotation
        pose[:3, 3] = [xy[0], xy[1], z]
        centres.append((pose[:3, 3], body.radius_m))
        drops.append(Drop(pose, float(config.mass_kg.sample(rng=rng)), float(config.friction.sample(rng=rng)),
                          float(config.rolling_friction.sample(rng=rng)), float(config.restitution.sample(rng=rng))))
    return drops


def _pybullet():
    """The process's PyBullet module and DIRECT client (made on first use, anew after a fork)."""
    try:
        import pybullet
    except ImportError:
        raise VizsynthError(INSTALL_HINT) from None
    if _client.get("pid") != os.getpid():
        _client.update(pid=os.getpid(), id=pybullet.connect(pybullet.DIRECT))
    return pybullet, _client["id"]


def _quaternion_xyzw(rotation: np.ndarray) -> list[float]:
    from scipy.spatial.transform import Rotation

    return [float(v) for v in Rotation.from_matrix(rotation).as_quat()]


def _build_world(p, client: int, config: PhysicsConfig, *, time_step_s: float | None = None,
                 bins: list[ObjectSpec] | None = None) -> None:
    """A fresh world: gravity, the plane z = 0 and the bin or mesh container of ``config.container``
    (or, given ``bins``, those bin objects where their poses put them)."""
    p.resetSimulation(physicsClientId=client)
    p.setPhysicsEngineParameter(fixedTimeStep=time_step_s or config.time_step_s, numSolverIterations=SOLVER_ITERATIONS,
                                deterministicOverlappingPairs=1, physicsClientId=client)
    p.setGravity(0, 0, -GRAVITY_M_S2, physicsClientId=client)
    plane = p.createCollisionShape(p.GEOM_PLANE, physicsClientId=client)
    statics = [p.createMultiBody(0, plane, physicsClientId=client)]
    c = config.container
    mesh = container_mesh(config) if bins is None else None
    if mesh is not None:
        # Given vertices and indices, Bullet makes a triangle mesh shape (not their convex hull); as a
        # static body (mass 0) it may be concave.
        shape = p.createCollisionShape(p.GEOM_MESH, vertices=mesh.vertices.tolist(),
                                       indices=mesh.faces.ravel().tolist(), physicsClientId=client)
        statics.append(p.createMultiBody(0, shape, physicsClientId=client))
        p.changeDynamics(statics[-1], -1, collisionMargin=0.0, physicsClientId=client)
        bins = []
    elif bins is None:
        origin = np.eye(4)
        origin[2, 3] = c.wall_height_m / 2
        bins = [(bin_name(*c.size_m, c.wall_height_m, c.wall_thickness_m), origin)] if c.enabled else []
    else:
        bins = [(b.primitive, b.obj_to_world) for b in bins]
    for name, bin_to_world in bins:
        # bin_boxes puts the base on z = 0; the bin primitive (and its pose) is centred on its box.
        height = bin_size(name)[2]
        for centre, extents in bin_boxes(name):
            world = bin_to_world[:3, :3] @ (centre - [0.0, 0.0, height / 2]) + bin_to_world[:3, 3]
            shape = p.createCollisionShape(p.GEOM_BOX, halfExtents=(extents / 2).tolist(), physicsClientId=client)
            statics.append(p.createMultiBody(0, shape, basePosition=world.tolist(),
                                             baseOrientation=_quaternion_xyzw(bin_to_world[:3, :3]),
                                             physicsClientId=client))
    for body in statics:
        p.changeDynamics(body, -1, lateralFriction=1.0, restitution=0.0, physicsClientId=client)


def _add_bodies(p, client: int, bodies: list[Body], drops: list[Drop]) -> list[int]:
    """Bullet ids of the moving bodies, created at their drops' poses with their contact properties."""
    ids = []
    for body, drop in zip(bodies, drops):
        if body.parts_file is None:
            shape = p.createCollisionShape(p.GEOM_MESH, vertices=body.hull.tolist(), physicsClientId=client)
        else:  # one convex hull per object of the OBJ file, in a compound about the centre of mass
            shape = p.createCollisionShape(p.GEOM_MESH, fileName=body.parts_file, meshScale=[body.scale] * 3,
                                           collisionFramePosition=(-body.com).tolist(), physicsClientId=client)
        uid = p.createMultiBody(drop.mass_kg, shape, basePosition=drop.com_to_world[:3, 3].tolist(),
                                baseOrientation=_quaternion_xyzw(drop.com_to_world[:3, :3]), physicsClientId=client)
        p.changeDynamics(uid, -1, lateralFriction=drop.friction, rollingFriction=drop.rolling_friction,
                         spinningFriction=drop.rolling_friction, restitution=drop.restitution,
                         physicsClientId=client)
        ids.append(uid)
    return ids


def _com_to_world(p, client: int, uid: int) -> np.ndarray:
    position, orientation = p.getBasePositionAndOrientation(uid, physicsClientId=client)
    pose = np.eye(4)
    pose[:3, :3] = np.asarray(p.getMatrixFromQuaternion(orientation), dtype=np.float64).reshape(3, 3)
    pose[:3, 3] = position
    return pose


def simulate(bodies: list[Body], drops: list[Drop], config: PhysicsConfig, *, max_steps: int | None = None,
             stop_at_rest: bool = True) -> tuple[list[np.ndarray], float, int, bool]:
    """Runs one drop, in a fresh world, until every body is at rest or ``max_steps`` (default ``config.max_steps``).

    Args:
        stop_at_rest: False runs all ``max_steps`` steps (the rest probe).

    Returns:
        (each body's (4, 4) com_to_world at the end, the fastest body's speed in m/s at the last
        check, steps run, whether it came to rest: slower than ``rest_speed_m_s`` at REST_CHECKS checks in a row).
    """
    p, client = _pybullet()
    _build_world(p, client, config)
    ids = _add_bodies(p, client, bodies, drops)
    radii = np.array([b.radius_m for b in bodies])
    bound = config.max_steps if max_steps is None else max_steps
    speed, steps, slow = np.inf, 0, 0
    while steps < bound:
        for _ in range(min(CHECK_EVERY_STEPS, bound - steps)):
            p.stepSimulation(physicsClientId=client)
            steps += 1
        velocities = [p.getBaseVelocity(uid, physicsClientId=client) for uid in ids]
        speeds = [np.linalg.norm(v) + np.linalg.norm(w) * r for (v, w), r in zip(velocities, radii)]
        speed = float(max(speeds, default=0.0))
        slow = slow + 1 if speed < config.rest_speed_m_s else 0
        if slow == REST_CHECKS and stop_at_rest:
            break
    return [_com_to_world(p, client, uid) for uid in ids], speed, steps, slow >= REST_CHECKS


def restarted(drops: list[Drop], poses: list[np.ndarray]) -> list[Drop]:
    """The drops started again at ``poses`` (each body's (4, 4) com_to_world), same masses and contact properties."""
    return [replace(drop, com_to_world=pose) for drop, pose in zip(drops, poses)]


def largest_move_m(bodies: list[Body], before: list[np.ndarray], after: list[np.ndarray]) -> float:
    """The largest distance any hull vertex moved between two com_to_world poses of its body (0 without bodies)."""
    moved = [np.linalg.norm((a[:3, :3] - b[:3, :3]) @ body.hull.T + (a[:3, 3:] - b[:3, 3:]), axis=0).max()
             for body, b, a in zip(bodies, before, after)]
    return float(max(moved, default=0.0))


def settle_drop(bodies: list[Body], drops: list[Drop], config: PhysicsConfig) -> tuple[list[np.ndarray], str | None]:
    """Simulates one drop to a rest state, within ``config.max_steps`` steps in all (probes included).

    At rest: every body slower than ``rest_speed_m_s`` at REST_CHECKS checks in a row, and the rest
    probe passes: started again from the poses at zero speed in a fresh world and run for
    REST_PROBE_S, no hull vertex moves more than REST_MOVE_M. A failed probe settles again from the
    restarted poses (the world a restart makes is the one the probe saw).

    Returns:
        (each body's (4, 4) com_to_world at the end, None when at rest or else what went wrong).
    """
    probe_steps = max(1, round(REST_PROBE_S / config.time_step_s))
    poses, speed, steps, at_rest = simulate(bodies, drops, config)
    moved = None
    while at_rest and steps + probe_steps <= config.max_steps:
        after, _, _, _ = simulate(bodies, restarted(drops, poses), config, max_steps=probe_steps, stop_at_rest=False)
        steps += probe_steps
        moved = largest_move_m(bodies, poses, after)
        if moved <= REST_MOVE_M:
            return poses, None
        poses, speed, spent, at_rest = simulate(bodies, restarted(drops, poses), config,
                                                max_steps=config.max_steps - steps)
        steps += spent
    if at_rest and moved is not None:
        return poses, (f"restarted from rest, an object moved {moved * 1000:.2f} mm in {REST_PROBE_S:g} s, "
                       f"{config.max_steps} steps spent")
    if at_rest:
        return poses, f"no steps left for the {REST_PROBE_S:g} s rest probe within {config.max_steps} steps"
    return poses, f"still moving at {speed:.3g} m/s after {config.max_steps} steps"


def _escaped(bodies: list[Body], poses: list[np.ndarray], config: PhysicsConfig) -> list[int]:
    """Indices of the bodies not wholly inside the bin (leaning over a wall, fallen out) or below the floor.

    Every hull vertex must lie within the bin's walls (1 mm of slack for contact tolerance); in a
    mesh container, within its bounding box's footprint in x, y and above z = 0. Without a bin the
    plane z = 0 is unbounded: objects may slide or roll beyond the drop area.
    """
    half, floor_z, wall_z = support_area(config)
    mesh = container_mesh(config)
    if mesh is not None:
        half = mesh.half_m
    out = []
    for k, (body, pose) in enumerate(zip(bodies, poses)):
        points = body.hull @ pose[:3, :3].T + pose[:3, 3]
        outside = wall_z is not None and np.any(np.abs(points[:, :2]) > half + 1e-3)
        if outside or points[:, 2].min() < floor_z - 1e-3:
            out.append(k)
    return out


def settle(hulls: list[trimesh.Trimesh], scales: list[float], config: PhysicsConfig, *,
           rng: np.random.Generator, index: int,
           parts_files: list[str | None] | None = None) -> tuple[list[np.ndarray], list[Drop]]:
    """The settled obj_to_world of each object, dropped as ``config`` says, and the drops that settled.

    A drop in which an object leaves the area, or that is not at rest (``settle_drop``) within
    ``max_steps``, is drawn again (from the same stream, so deterministically), at most ``max_tries`` times.
    Into a mesh container, steps are at most MESH_MAX_STEP_S long (``max_steps`` of them).

    Args:
        hulls: each object's unscaled convex hull; scales: each object's metres per mesh unit.
        parts_files: each object's convex decomposition (or None: its hull); default all hulls.
        rng: the frame's physics stream.
        index: the frame, named in errors.

    Returns:
        ((4, 4) float64 obj_to_world per object, in order; the drawn Drop of each object).

    Raises:
        PlacementError: objects too big for the container, or no drop settled inside in ``max_tries``.
        VizsynthError: PyBullet is not installed (with the install hint).
    """
    parts_files = parts_files or [None] * len(hulls)
    if container_mesh(config) is not None and config.time_step_s > MESH_MAX_STEP_S:
        config = config.model_copy(update={"time_step_s": MESH_MAX_STEP_S})
    bodies = [body_of(hull, scale, parts) for hull, scale, parts in zip(hulls, scales, parts_files)]
    problems = []
    for _ in range(config.max_tries):
        drops = draw_drops(bodies, config, rng=rng, index=index)
        if not bodies:
            return [], []
        poses, unsettled = settle_drop(bodies, drops, config)
        escaped = _escaped(bodies, poses, config)
        if unsettled is None and not escaped:
            out = []
            for body, com_to_world in zip(bodies, poses):
                to_origin = np.eye(4)
                to_origin[:3, 3] = -body.com
                out.append(com_to_world @ to_origin)
            return out, drops
        problems.append(f"objects {[k + 1 for k in escaped]} left the area" if escaped else unsettled)
    raise PlacementError(
        f"frame {index}: no physics drop settled in {config.max_tries} tries ({'; '.join(problems)}); raise "
        "objects.physics.max_steps or rest_speed_m_s, use fewer objects, a lower drop_height_m or higher walls"
    )


def place_physics(objects: tuple[ObjectSpec, ...], config: PhysicsConfig, catalogs: list, *,
                  rng: np.random.Generator, index: int) -> tuple[ObjectSpec, ...]:
    """The objects (labelled and distractors) at their settled poses, then the bin (if any).

    Args:
        objects: the drawn objects; their poses are replaced.
        catalogs: the catalogs they were drawn from (with hulls: ``build_catalog(..., hulls=True)``).
        rng: the frame's physics stream: the bin's colour, then the drops.
    """
    container = container_object(config, len(objects) + 1, rng=rng)
    hulls, parts_files = _collision_shapes(objects, config, catalogs, f"frame {index}")
    poses, _ = settle(hulls, [o.mesh_scale for o in objects], config, rng=rng, index=index, parts_files=parts_files)
    settled = tuple(replace(o, obj_to_world=pose) for o, pose in zip(objects, poses))
    return settled + ((container,) if container is not None else ())


def _collision_shapes(objects, config: PhysicsConfig, catalogs: list, where: str) -> tuple[list, list]:
    """(each object's convex hull, each one's V-HACD parts file or None), from the catalogs."""
    hulls, parts_files = [], []
    for obj in objects:
        catalog = next((c for c in catalogs if c is not None
                        and c.hull(primitive=obj.primitive, mesh=obj.mesh) is not None), None)
        if catalog is None:
            raise ValueError(f"{where}: no convex hull for {obj.asset_key}: build the catalogs with hulls=True")
        hulls.append(catalog.hull(primitive=obj.primitive, mesh=obj.mesh))
        parts = catalog.parts_file(primitive=obj.primitive, mesh=obj.mesh)
        if config.collision == "vhacd" and parts is None:
            raise ValueError(f"{where}: no convex decomposition for {obj.asset_key}: build the catalogs with vhacd")
        parts_files.append(parts if config.collision == "vhacd" else None)
    return hulls, parts_files


def throw(objects: tuple[ObjectSpec, ...], motions: tuple, config: PhysicsConfig, catalogs: list, *,
          frames: int, fps: float, rng: np.random.Generator, sequence: int) -> tuple:
    """Simulated trajectories of thrown objects (sequence.object_motion physics).

    Every object with a motion starts at its pose in ``objects`` with that motion's velocities as
    its centre of mass's linear and angular velocity (world frame), with gravity, the plane z = 0,
    the scene's bins and each other (no air drag: Bullet's damping is off). Each frame interval
    1 / fps is split into the fewest equal sub-steps no longer than ``config.time_step_s`` and
    THROW_MAX_STEP_S, so every frame time is a step; the pose at frame t is recorded.

    Draw order (``rng``, the sequence's object_motion stream after the velocities): per moving
    object, mass, friction, rolling friction, restitution.

    Returns:
        the motions with ``trajectory`` filled: (frames,) obj_to_world, frame 0 the object's own pose,
        and ``com_m``: the simulated body's centre of mass in the object frame.
    """
    by_id = {o.instance_id: o for o in objects}
    movers = [by_id[m.instance_id] for m in motions]
    hulls, parts_files = _collision_shapes(movers, config, catalogs, f"sequence {sequence}")
    bodies = [body_of(h, o.mesh_scale, f) for h, o, f in zip(hulls, movers, parts_files)]
    drops = []
    for obj, body in zip(movers, bodies):
        com = np.eye(4)
        com[:3, 3] = body.com
        drops.append(Drop(obj.obj_to_world @ com, float(config.mass_kg.sample(rng=rng)),
                          float(config.friction.sample(rng=rng)), float(config.rolling_friction.sample(rng=rng)),
                          float(config.restitution.sample(rng=rng))))
    step_s = min(config.time_step_s, THROW_MAX_STEP_S)
    sub_steps = max(1, int(np.ceil(1.0 / (fps * step_s) - 1e-9)))
    p, client = _pybullet()
    _build_world(p, client, config, time_step_s=1.0 / (fps * sub_steps),
                 bins=[o for o in objects if is_bin(o.primitive)])
    ids = _add_bodies(p, client, bodies, drops)
    for uid, motion in zip(ids, motions):
        p.changeDynamics(uid, -1, linearDamping=0.0, angularDamping=0.0, physicsClientId=client)
        p.resetBaseVelocity(uid, list(motion.velocity_m_per_s),
                            np.deg2rad(motion.angular_velocity_deg_per_s).tolist(), physicsClientId=client)
    trajectories = [[obj.obj_to_world] for obj in movers]
    for _ in range(1, frames):
        for _ in range(sub_steps):
            p.stepSimulation(physicsClientId=client)
        for trajectory, uid, body in zip(trajectories, ids, bodies):
            to_origin = np.eye(4)
            to_origin[:3, 3] = -body.com
            trajectory.append(_com_to_world(p, client, uid) @ to_origin)
    return tuple(replace(m, trajectory=tuple(t), com_m=tuple(float(v) for v in body.com))
                 for m, t, body in zip(motions, trajectories, bodies))
