#!/usr/bin/env bash
# One prepared run on a GPU machine with no internet (see README "Speed").
#   bash benchmarks/gpu_device_run.sh speed [FRAMES]         # GL check, throughput curve, a big job run twice (same bytes?), stages, profile, GL tests
#   bash benchmarks/gpu_device_run.sh throughput [FRAMES]    # GL check and the throughput curve only
#   bash benchmarks/gpu_device_run.sh experiment [FRAMES] [--set ARGS...]   # the YCB-V experiment
# Expects, in the repository root: .whl/ (wheels of the deps the machine lacks, for its Python:
# pure-Python ones, isal's and py-spy's binary wheels, PyOpenGL 3.1.9 for Python 3.12) and .gl/
# (Debian's libglvnd/EGL loader packages); optionally .old/REV/ (`git archive REV`) to measure an
# older revision on the same machine. Writes logs to $OUT (or ./gpu_out); each step has a time limit,
# so one that hangs costs its limit, not the run. SKIP_INSTALL=1 skips the .gl/.whl set-up (to try
# the script on a machine that has everything).
set -uo pipefail
what=${1:-speed}
frames=${2:-1000}
shift $(( $# < 2 ? $# : 2 ))
out=${OUT:-gpu_out}
mkdir -p "$out"
if [ -z "${SKIP_INSTALL:-}" ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/site:$PWD" PATH="/tmp/site/bin:$PATH"
else
  export PYTHONPATH="$PWD"
fi
export PYOPENGL_PLATFORM=egl PYGLET_HEADLESS=1 PYTHONUNBUFFERED=1
if [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
step() { local limit=$1; shift; echo "== $(date +%T) $*"; timeout "$limit" "$@"; echo "== exit $?"; }
progressless() { tr '\r' '\n' | grep -v "it/s\]$\|frame/s\]$\|frames/s\]$"; }

{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  nproc
  python3 -c "import numpy, cv2, scipy, PIL, trimesh, OpenGL; print('numpy', numpy.__version__, 'cv2', cv2.__version__, 'scipy', scipy.__version__, 'Pillow', PIL.__version__, 'trimesh', trimesh.__version__, 'PyOpenGL', OpenGL.__version__)"
  step 60 python3 - <<'PY'
from OpenGL import GL

from vizsynth.render.context import GLContext
from vizsynth.render.devices import egl_device_count, egl_device_for_cuda

ctx = GLContext(64, 48, False)
print("GL_RENDERER:", GL.glGetString(GL.GL_RENDERER).decode(), "| GL_VERSION:", GL.glGetString(GL.GL_VERSION).decode())
ctx.close()
print("EGL devices:", egl_device_count(), "| EGL device of CUDA device 0:", egl_device_for_cuda(0))
PY
  # the read-back flips (a mirrored blit on a GPU driver) against the CPU flip, and the orientation
  step 120 python3 -m pytest -q -p no:cacheprovider tests/render/test_renderer.py -k "top_row_first or uniforms"
} 2>&1 | tee "$out/gpu.txt"

if [ "$what" = speed ] || [ "$what" = throughput ]; then
  step 240 python3 benchmarks/throughput.py -n "$frames" --workers 1 2 4 8 16 2>&1 | tee "$out/throughput.txt"
fi

if [ "$what" = speed ]; then
  {
    # a long job as a user runs it (16 workers, everything written and merged), twice: the same bytes?
    big=$(( frames * 6 ))
    step 90 python3 -m vizsynth generate --out /tmp/big -n "$big" --workers 16 --no-progress 2>&1 | tail -2
    step 90 python3 -m vizsynth generate --out /tmp/big2 -n "$big" --workers 16 --no-progress 2>&1 | tail -2
    step 60 python3 benchmarks/same_bytes.py /tmp/big /tmp/big2
    # float bits of depth, ids and colour: a frame rendered first in a fresh GL context and again later
    step 60 python3 benchmarks/gpu_repeatability.py 2>&1 | tail -3
    root=$PWD
    for rev in .old/*; do
      [ -d "$rev" ] || continue
      (cd "$rev" && PYTHONPATH="/tmp/site:$root/$rev" step 120 python3 benchmarks/throughput.py -n $(( frames / 2 )) --workers 1 16)
    done
  } 2>&1 | tee "$out/bigjob.txt"
  # CPU time per stage with the GL wait apart, one worker (GALLIUM_NOOP means nothing to NVIDIA's
  # driver: its "drawing nothing" rows are a second real run)
  step 120 python3 benchmarks/throughput.py --stages -n 200 --frame-medians 2>&1 | tee "$out/stages.txt"
  # where a GPU worker's CPU time goes: py-spy over one worker's per-frame work (raw stacks)
  cat > /tmp/spy_target.py <<'PY'
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, "benchmarks")
from cpu_stages import _Inline  # noqa: E402

from vizsynth.assets.catalog import build_catalog  # noqa: E402
from vizsynth.assets.meshes import MeshLibrary  # noqa: E402
from vizsynth.config import load_config  # noqa: E402
from vizsynth.run.task import FrameTask  # noqa: E402
from vizsynth.run.worker_process import tune_worker_process  # noqa: E402

tune_worker_process(1)
config = load_config(None, [])
categories = list(build_catalog(config.objects.assets, MeshLibrary(), split=config.split.use,
                                fractions=config.split.fractions).categories)
task = FrameTask(config, 0, Path(tempfile.mkdtemp()), categories)
task.setup()
task._writers.shutdown()
task._writers = _Inline()
for index in range(int(os.environ.get("N", "1500"))):
    task(index)
PY
  step 120 py-spy record -r 200 -f raw -o "$out/spy.raw" -- python3 /tmp/spy_target.py 2>&1 | tail -3 | tee -a "$out/stages.txt"
  # GL tests on the GPU driver (not the golden bytes: those pixels are llvmpipe's), and the PNG bytes
  # test on that machine's CPU (AVX-512 on the H100 box)
  step 240 python3 -m pytest -q -p no:cacheprovider -n 16 tests/render tests/annotate tests/run/test_gpus.py \
    tests/test_determinism.py tests/test_flow.py tests/io/test_png.py tests/io/test_frame_writer.py \
    tests/run/test_merge_in_order.py 2>&1 | tail -40 | tee "$out/tests.txt"
  step 60 python3 -m vizsynth validate /tmp/big 2>&1 | progressless | tail -3 | tee -a "$out/tests.txt"
fi

if [ "$what" = experiment ]; then
  python3 -m vizsynth experiment configs/experiments/ycbv_dr.yaml --out /tmp/ycbv_dr --device cuda "$@" 2>&1 \
    | progressless | tee "$out/experiment.txt"
  for f in results.json results.md ap50.png; do cp "/tmp/ycbv_dr/$f" "$out/" 2>/dev/null; done
fi
