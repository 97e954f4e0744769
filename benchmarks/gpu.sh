#!/usr/bin/env bash
# One-GPU benchmark of dl4all_mm: ResNet-50 at 224 px, AMP (fp16) +
# channels_last, (a) plain PyTorch limit vs (c) DL4ALL paired/joint training
# (benchmarks/overhead.py), then the speed-option tests on the GPU.
#
# On the GPU machine (repo root; the wheels in .whl/ carried along):
#     bash benchmarks/gpu.sh            # about 4 minutes
# Results: printed, and written to $OUT/gpu.json (+ $OUT/gpu.log) when OUT
# is set. Knobs (environment): GPU_BATCH (per domain, default 64),
# GPU_ITERS (timed per mode, default 60), GPU_MODES (default
# limit,dl4all,dl4all_perdomain), GPU_TESTS=0 to skip the tests.
#
# Prepare the wheels on a machine with internet (once):
#     bash benchmarks/gpu.sh --fetch-wheels
# The GPU image has torch, numpy 2, opencv, timm, scipy, sklearn, yaml,
# rich, einops, matplotlib; mmengine, mmcv-lite, mmpretrain and the small
# pure-Python packages below travel as wheels.
set -uo pipefail
cd "$(dirname "$0")/.."

WHEELS='mmengine==0.10.7 mmpretrain==1.2.0 addict==2.4.0 termcolor==3.3.0
yapf==0.43.0 platformdirs==4.14.8 mat4py==0.6.0 modelindex==0.0.2
model-index==0.1.11 ordered-set==4.1.0 importlib-metadata==10.2.0
lazy-importer==0.1.0 zipp==4.1.2 setuptools==80.10.2'

if [ "${1:-}" = "--fetch-wheels" ]; then
    set -e
    PY=${PYTHON:-.venv/bin/python}
    mkdir -p .whl
    # shellcheck disable=SC2086
    $PY -m pip download -q --no-deps --only-binary=:all: \
        --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 -d .whl $WHEELS
    # mmcv-lite is published as an sdist only: build its pure-Python wheel.
    tmp=$(mktemp -d)
    $PY -m pip download -q --no-deps --no-binary=:all: --no-build-isolation \
        mmcv-lite==2.2.0 -d "$tmp"
    MMCV_WITH_OPS=0 $PY -m pip wheel -q --no-deps --no-build-isolation \
        "$tmp"/mmcv-lite-2.2.0.tar.gz -w .whl
    rm -rf "$tmp"
    ls -la .whl
    exit 0
fi

OUT_DIR=${OUT:-}
LOG=/dev/null
[ -n "$OUT_DIR" ] && LOG=$OUT_DIR/gpu.log
exec > >(tee "$LOG") 2>&1
start=$SECONDS
say() { echo "[gpu.sh +$((SECONDS - start))s] $*"; }

say "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
nproc; python3 -V

say "install wheels into a venv layered over python3's packages"
if ! ls .whl/*.whl >/dev/null 2>&1; then
    echo "no wheels in .whl/: run --fetch-wheels here, carry .whl"; exit 2
fi
BASE=${PYTHON:-python3}
VENV=/tmp/dl4all_venv
rm -rf "$VENV"
if "$BASE" -m venv --without-pip "$VENV"; then
    # python3 may itself be a venv, whose packages --system-site-packages
    # would not add: add its site dirs (.pth files included) after the new
    # venv's own, so that the carried wheels (setuptools<81, ...) win.
    SITE=$("$VENV"/bin/python -c \
        'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    "$BASE" -c 'import site; print("\n".join(site.getsitepackages()))' |
        while read -r dir; do
            echo "import site; site.addsitedir('$dir')" >>"$SITE/zz_base.pth"
        done
    PY="$VENV/bin/python"
    $PY -m pip install -q --no-index --no-deps --no-compile \
        --ignore-installed .whl/*.whl || exit 2
    export PYTHONPATH=$PWD
else  # no venv module: a --target folder on PYTHONPATH
    echo "venv failed; installing into /tmp/dl4all_site instead"
    PY="$BASE"
    $PY -m pip install -q --no-index --no-deps --no-compile \
        --target /tmp/dl4all_site .whl/*.whl || exit 2
    export PYTHONPATH=/tmp/dl4all_site:$PWD
fi
export PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore

say "preflight"
$PY - <<'EOF' || exit 2
import distutils.errors, pkg_resources  # noqa: F401 (mmengine needs both)
import cv2, mmcv, mmengine, mmpretrain, numpy, torch
import dl4all_mm  # noqa: F401
assert torch.cuda.is_available(), 'no CUDA device'
print('torch', torch.__version__, '| numpy', numpy.__version__, '| mmengine',
      mmengine.__version__, '| mmcv', mmcv.__version__, '| mmpretrain',
      mmpretrain.__version__, '|', torch.cuda.get_device_name(0))
EOF

say "benchmark: ResNet-50, 224 px, AMP + channels_last"
JSON=${OUT_DIR:-/tmp}/gpu.json
timeout 270 $PY benchmarks/overhead.py --device cuda --arch resnet50 \
    --img-size 224 --batch "${GPU_BATCH:-64}" --amp --channels-last \
    --modes "${GPU_MODES:-limit,dl4all,dl4all_perdomain}" \
    --iters "${GPU_ITERS:-60}" --rounds 2 --warmup 15 --workers 8 \
    --images-per-domain 1024 --src-size 256 --segment-timeout 120 \
    --work-dir /tmp/dl4all_gpu_bench --json "$JSON"
status=$?
say "benchmark exit $status; results in $JSON"

if [ "${GPU_TESTS:-1}" != 0 ]; then
    say "speed-option tests on the GPU (real fp16 AMP, SyncBN with NCCL)"
    timeout 100 $PY -m pytest -q -p no:cacheprovider \
        tests/test_speed_options.py 2>&1 | tail -5
fi
say "done"
exit $status
