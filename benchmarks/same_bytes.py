"""Do two dataset folders hold the same bytes? Which files differ, and do their pixels differ too?

    python benchmarks/same_bytes.py A B

The determinism check of a machine: run the same job twice (or split differently) and compare.
Manifests and logs (timings, machine) are left out. For a PNG that differs, it says whether the
decoded pixels differ as well (a different encoding of the same image) and how many.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

_SKIPPED = {"manifest.json", "job.json"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args()
    files = sorted(p.relative_to(args.a) for p in args.a.rglob("*")
                   if p.is_file() and p.name not in _SKIPPED and p.suffix != ".log")
    differ = [f for f in files if not (args.b / f).is_file() or (args.a / f).read_bytes() != (args.b / f).read_bytes()]
    print(f"{args.a} vs {args.b}: {len(differ)} of {len(files)} files differ")
    for f in differ[:20]:
        if f.suffix == ".png" and (args.b / f).is_file():
            x, y = (cv2.imread(str(root / f), cv2.IMREAD_UNCHANGED) for root in (args.a, args.b))
            pixels = int((x != y).reshape(x.shape[0], x.shape[1], -1).any(axis=2).sum()) if x.shape == y.shape else -1
            print(f"  {f}: {'same pixels, other bytes' if pixels == 0 else f'{pixels} pixels differ'}")
        else:
            print(f"  {f}")
    raise SystemExit(1 if differ else 0)


if __name__ == "__main__":
    main()
