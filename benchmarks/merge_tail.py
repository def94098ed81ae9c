"""How long a job runs after its last frame (the merge, the workers stopping, the manifest).

    python benchmarks/merge_tail.py                          # this tree: 600 frames at 160x120
    python benchmarks/merge_tail.py --compare HEAD~1 --rounds 3   # and revision REV, alternated

A job merges its COCO labels while frames render (run/job.py: _MergeInOrder), in the job's own
process. That pays where the job's process has a core the workers leave free: a GPU machine, whose
workers wait on the GPU, or fewer workers than cores. Here the frames are rendered by a pool of
``--pool-workers`` worker processes (default 1; vizsynth renders in the job's own process when
``workers`` is 1, so the pool is made here), and each run prints the whole job's seconds, the
seconds from the last frame's arrival to the job's end, and the merge stage's seconds, timed by
throughput.py's ``end_to_end``. Small
images keep rendering short, so the merge is a large part of the job.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cpu_stages import REPO, child_env, exported

BENCHMARKS = Path(__file__).resolve().parent

_RUN = """
import sys
from concurrent.futures import FIRST_COMPLETED, wait

sys.path.insert(0, {benchmarks!r})
from throughput import end_to_end  # noqa: E402

from vizsynth.config import load_config  # noqa: E402
from vizsynth.run import local  # noqa: E402


def pool_executor(task, indices, _workers):
    \"\"\"run_frames' pool loop with a pool of {pool_workers} (run_frames renders in-process for one).\"\"\"
    pool = local._start_pool(task, {pool_workers}, None)
    todo, in_flight, exhausted = iter(indices), {{}}, False
    try:
        while True:
            while not exhausted and len(in_flight) < 2 * {pool_workers}:
                index = next(todo, None)
                if index is None:
                    exhausted = True
                else:
                    in_flight[pool.submit(local._run_in_worker, index)] = index
            if not in_flight:
                break
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                del in_flight[future]
                yield future.result()
    finally:
        pool.shutdown(wait=True)


if __name__ == "__main__":
    import json

    config = load_config(None, {overrides!r})
    fps, summary, _, _, (_, tail) = end_to_end(config, {frames}, 0, 2, scheduler=pool_executor)
    print(json.dumps({{"job": {frames} / fps, "after_last_frame": tail, "merge": summary.stage_seconds["merge"]}}))
"""


def run(source: Path, frames: int, pool_workers: int, size: tuple[int, int]) -> dict:
    """One job in a fresh process importing vizsynth from ``source``."""
    overrides = [f"image.width={size[0]}", f"image.height={size[1]}"]
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "job.py"
        script.write_text(_RUN.format(benchmarks=str(BENCHMARKS), pool_workers=pool_workers, overrides=overrides,
                                      frames=frames))
        out = subprocess.run([sys.executable, str(script)], cwd=source, env=child_env(source), check=True,
                             capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--num-frames", type=int, default=600)
    parser.add_argument("--pool-workers", type=int, default=1)
    parser.add_argument("--size", default="160x120", help="WxH (default 160x120)")
    parser.add_argument("--compare", metavar="REV", help="also run git revision REV, alternating with this tree")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    print(f"{args.num_frames} frames at {args.size}, a pool of {args.pool_workers} worker process(es)")
    with exported(args.compare) if args.compare else contextlib.nullcontext() as old:
        sources = [("this tree", REPO)] + ([(args.compare, old)] if old else [])
        for round_ in range(args.rounds):
            for label, source in (sources if round_ % 2 == 0 else sources[::-1]):
                started = time.perf_counter()
                r = run(source, args.num_frames, args.pool_workers, size)
                print(f"  round {round_ + 1} {label:>10}: job {r['job']:.2f} s, after the last frame "
                      f"{r['after_last_frame']:.2f} s, merge stage {r['merge']:.2f} s "
                      f"({time.perf_counter() - started:.0f} s with start-up)", flush=True)


if __name__ == "__main__":
    main()
