"""How deep thrown objects sink into the bin's floor at impact, by the simulation's step length:
the measurement behind ``vizsynth.sampling.physics.THROW_MAX_STEP_S``.

    python benchmarks/throw_sinking.py            # 6 sequences of 4 thrown primitives, 24 frames at 24 fps
    python benchmarks/throw_sinking.py -s 12

For each step bound it simulates the same sequences (``start_sequence``, the test config of
tests/sampling/test_physics_motion.py: convex primitives settled in a bin, thrown up at 0.5..1.5 m/s
and sideways) and prints the deepest any object's render mesh reaches below the top of the bin's
base at any frame, in mm (frames only: a sub-step's deeper instant between frames is not seen).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import vizsynth.sampling.physics as physics
from vizsynth.assets.catalog import load_config_assets
from vizsynth.config import load_config
from vizsynth.motion import scene_at
from vizsynth.sampling.motion_sampler import start_sequence
from vizsynth.sampling.scene_sampler import sample_scene

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package, for its THROWN config
from tests.sampling.test_physics_motion import THROWN  # noqa: E402

SEED = 5


def deepest_sinking_m(config, assets, sequences: int) -> float:
    """The deepest (m) any thrown object's mesh reaches below the bin base's top, over all frames."""
    floor_z = config.objects.physics.container.wall_thickness_m
    deepest = 0.0
    for s in range(sequences):
        scene = sample_scene(config, assets.catalog, seed=SEED, index=s, distractors=assets.distractors)
        start = start_sequence(config.sequence, scene, seed=SEED, sequence=s, physics=config.objects.physics,
                               catalogs=(assets.catalog, assets.distractors))
        moving = {m.instance_id for m in start.sequence.objects}
        for t in range(config.sequence.frames_per_sequence):
            for obj in scene_at(start, t).objects:
                if obj.instance_id in moving:
                    vertices = np.asarray(assets.library.get(primitive=obj.primitive, mesh=obj.mesh).vertices)
                    lowest = float((vertices * obj.mesh_scale @ obj.obj_to_world[:3, :3].T + obj.obj_to_world[:3, 3])[:, 2].min())
                    deepest = max(deepest, floor_z - lowest)
    return deepest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-s", "--sequences", type=int, default=6)
    args = parser.parse_args()
    config = load_config(THROWN)
    assets = load_config_assets(config, check_images=False)
    for step in (1 / 240, 1 / 480):
        physics.THROW_MAX_STEP_S = step  # throw() reads the bound at call time
        at_frames = deepest_sinking_m(config, assets, args.sequences)
        # The same throws recorded at every step: one frame per step (fps = 1 / step) over the same second.
        per_step = config.model_copy(update={"sequence": config.sequence.model_copy(
            update={"fps": round(1 / step), "frames_per_sequence": round(1 / step)})})
        at_steps = deepest_sinking_m(per_step, assets, args.sequences)
        print(f"step 1/{round(1 / step)} s: deepest sinking into the bin's floor {at_steps * 1000:.2f} mm at any "
              f"step, {at_frames * 1000:.2f} mm at the 24 fps frames ({args.sequences} sequences of 4 thrown primitives)")


if __name__ == "__main__":
    main()
