#!/usr/bin/env bash
# bench/speed-report.sh - every speed figure of README.md in one run, on a
# quiet machine, after `bash tools/build`:
#
#   bash bench/speed-report.sh DATA [REFERENCE_REPO]
#
# DATA is the image folder (this workplace's ../shared/data, beside which
# ../shared/reference-models holds the published checkpoint); the
# optional REFERENCE_REPO is a checkout of btolooshams/crsae, for the
# comparison with the published code (skipped without it).  It prints:
#  1. crsae-bench: the FMA peak, the kernels' GFLOP/s and share of it, the
#     dialog's preview, training patches/s, seconds per grey megapixel at
#     each quality with 1 and 2 threads, seconds per colour megapixel; then
#     the normal quality again with float products (--precise);
#  2. peak memory of a 100-megapixel grey image (10000 x 10000, one shift);
#  3. OpenCV's non-local means on BSD68 (Debian's python3-opencv);
#  4. the published PyTorch code with the same checkpoint (python3-torch,
#     with libopenblas0-pthread for its best case), crsae timed as one
#     command per image and as one command over the images (--out-dir).
# Debian's python (/usr/bin/python3), not a virtualenv's.  About 6 minutes
# on 2 cores.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
data=${1:?usage: bench/speed-report.sh DATA [REFERENCE_REPO]}
repo=${2:-}
bin="$top/build"
[ -x "$bin/bench/crsae-bench" ] || { echo "build first: bash tools/build" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== 1. crsae-bench (kernels, preview, training, quality settings, colour)"
"$bin/bench/crsae-bench" --kernels --sigmas 25 --qualities fast,normal,best \
    --time-images 8 --limit 8 --train 40 --colour "$data/test/Set14" \
    --preview "$data/test/Set14" "$data/test/BSD68"

echo
echo "== 1b. the same images with float products throughout (--precise)"
"$bin/bench/crsae-bench" --precise --sigmas 25 --qualities normal --time-images 8 --limit 8 \
    "$data/test/BSD68" | grep -A2 '^ sigma'

echo
echo "== 2. a 100-megapixel grey image (one shift), peak memory"
"$bin/tests/cli/mkimage" "$work/h.png" 10000 10000 1 8 3
"$bin/cli/crsae" noise --sigma 25 --seed 1 "$work/h.png" "$work/hn.png"
rm -f "$work/h.png"
/usr/bin/time -f "%e s wall, peak resident %M KiB" \
    "$bin/cli/crsae" denoise --sigma 25 --shifts 1 "$work/hn.png" "$work/out.png"
echo "(input and output as floats: 381 MiB each; the budget is input + output + 512 MiB = 1274 MiB)"
rm -f "$work/hn.png" "$work/out.png"

echo
echo "== 3. OpenCV non-local means, BSD68, sigma 25"
if /usr/bin/python3 -c 'import cv2' 2>/dev/null; then
    /usr/bin/python3 "$top/bench/compare-nlm.py" "$bin/cli/crsae" "$data/test/BSD68" 25 --h 25
else
    echo "skipped: no python3-opencv (apt-get install python3-opencv)"
fi

echo
echo "== 4. the published CRsAE code (PyTorch, CPU), same checkpoint"
if [ -n "$repo" ] && /usr/bin/python3 -c 'import torch, cv2' 2>/dev/null; then
    # PyTorch's CPU convolutions go through the system BLAS: its best case
    # needs OpenBLAS (Debian's reference BLAS is about 4 times slower)
    ldconfig -p | grep -q libopenblas ||
        echo "warning: no OpenBLAS (apt-get install libopenblas0-pthread): PyTorch is not at its best"
    ref() {
        /usr/bin/python3 "$top/bench/compare-reference.py" "$bin/cli/crsae" "$repo" \
            "$data/../reference-models/crsae-untied-em-s20.json" \
            "$top/models/published-untied.crsae" "$data/test/BSD68" --limit 4 2>&1 |
            grep -v -e UserWarning -e masked_select
    }
    echo "-- as it runs by default"
    ref
    # PyTorch's allocator hands large blocks back to the system after every
    # operation; where page faults are dear (this VM) that alone makes it
    # 10x slower.  Its best case: glibc keeps them.
    echo "-- with glibc keeping freed memory (the published code's best case)"
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295 ref
else
    echo "skipped: give a checkout of btolooshams/crsae and install python3-torch, python3-opencv"
fi
