#!/usr/bin/env bash
# End-to-end tests of the crsae command line: exit codes, no partial
# output, layouts preserved, a real PSNR gain.  Usage: e2e.sh CRSAE MKIMAGE
set -u
crsae=$1
mkimage=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check NAME EXPECTED_RC COMMAND...
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out.txt" 2>"$tmp/err.txt"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL: $name: exit $rc, expected $want"; sed 's/^/    /' "$tmp/err.txt"
        fails=$((fails + 1))
    else
        echo "ok: $name"
    fi
}
assert() { # assert NAME CONDITION...
    local name=$1
    shift
    if "$@"; then echo "ok: $name"; else echo "FAIL: $name"; fails=$((fails + 1)); fi
}

check "help" 0 "$crsae" --help
check "version" 0 "$crsae" --version
check "no command" 2 "$crsae"
check "unknown command" 2 "$crsae" frobnicate
check "unknown option" 2 "$crsae" denoise --bogus a.png b.png
check "sigma out of range" 2 "$crsae" denoise --sigma 300 a.png b.png
check "iterations out of range" 2 "$crsae" denoise --sigma 10 --iterations 0 a.png b.png
check "missing input" 3 "$crsae" denoise --sigma 10 "$tmp/none.png" "$tmp/o.png"

"$mkimage" "$tmp/clean.png" 96 80 1 8 1 || { echo "FAIL: mkimage"; exit 1; }
printf 'this is not a png' >"$tmp/notpng.png"
check "not a PNG" 4 "$crsae" denoise --sigma 10 "$tmp/notpng.png" "$tmp/o.png"
head -c 200 "$tmp/clean.png" >"$tmp/trunc.png"
check "truncated PNG" 4 "$crsae" denoise --sigma 10 "$tmp/trunc.png" "$tmp/o.png"
printf 'CRSAE\r\n\032garbage' >"$tmp/bad.crsae"
check "corrupt model" 5 "$crsae" denoise --sigma 10 --model "$tmp/bad.crsae" "$tmp/clean.png" "$tmp/o.png"
check "missing model" 3 "$crsae" denoise --sigma 10 --model "$tmp/none.crsae" "$tmp/clean.png" "$tmp/o.png"
assert "no output after errors" test ! -e "$tmp/o.png"
check "output folder missing" 6 "$crsae" denoise --sigma 10 "$tmp/clean.png" "$tmp/nodir/o.png"
assert "no partial output" test ! -e "$tmp/nodir"
check "info default" 0 "$crsae" info default
assert "info shows 64 filters" grep -q "filters: 64" "$tmp/out.txt"

# noise, denoise, psnr on a synthetic image at sigma 25
check "noise" 0 "$crsae" noise --sigma 25 --seed 3 "$tmp/clean.png" "$tmp/noisy.png"
check "denoise" 0 "$crsae" denoise --sigma 25 "$tmp/noisy.png" "$tmp/den.png"
before=$("$crsae" psnr "$tmp/clean.png" "$tmp/noisy.png")
after=$("$crsae" psnr "$tmp/clean.png" "$tmp/den.png")
echo "synthetic 96x80 sigma 25: noisy $before dB -> denoised $after dB"
assert "PSNR gain > 5 dB" awk -v a="$after" -v b="$before" 'BEGIN { exit !(a > b + 5) }'
check "denoise --best" 0 "$crsae" denoise --sigma 25 --best "$tmp/noisy.png" "$tmp/best.png"
best=$("$crsae" psnr "$tmp/clean.png" "$tmp/best.png")
echo "synthetic --best: $best dB (one pass $after dB)"
assert "--best is not worse than one pass" awk -v a="$best" -v b="$after" 'BEGIN { exit !(a >= b - 0.05) }'
check "denoise auto sigma" 0 "$crsae" denoise --quiet "$tmp/noisy.png" "$tmp/den2.png"
check "threads 1" 0 "$crsae" denoise --sigma 25 --threads 1 "$tmp/noisy.png" "$tmp/t1.png"
assert "1 thread equals N threads" cmp -s "$tmp/t1.png" "$tmp/den.png"
for t in 2 3 4; do
    "$crsae" denoise --quiet --sigma 25 --threads $t "$tmp/noisy.png" "$tmp/t$t.png"
    assert "$t threads: the same bytes as 1" cmp -s "$tmp/t1.png" "$tmp/t$t.png"
done
"$crsae" denoise --quiet --sigma 25 --threads 1 "$tmp/noisy.png" "$tmp/t1b.png"
assert "a second run: the same bytes" cmp -s "$tmp/t1.png" "$tmp/t1b.png"

# A batch over several files: one process, the same bytes as one file at a
# time; a bad file is reported, the others are written; the inputs are never
# written over.
mkdir -p "$tmp/in" "$tmp/outd"
cp "$tmp/noisy.png" "$tmp/in/a.png"
"$mkimage" "$tmp/in/b.png" 50 40 3 16 5
printf 'not a png' >"$tmp/in/c.png"
"$crsae" denoise --quiet --sigma 25 "$tmp/in/b.png" "$tmp/b1.png"
check "batch with a bad file exits 4" 4 "$crsae" denoise --sigma 25 --out-dir "$tmp/outd" \
    "$tmp/in/a.png" "$tmp/in/c.png" "$tmp/in/b.png"
assert "batch: a.png as denoised alone" cmp -s "$tmp/outd/a.png" "$tmp/den.png"
assert "batch: b.png as denoised alone" cmp -s "$tmp/outd/b.png" "$tmp/b1.png"
assert "batch: nothing for the bad file" test ! -e "$tmp/outd/c.png"
assert "batch: the failure is counted" grep -q "1 of 3" "$tmp/err.txt"
check "batch into the inputs' own folder" 2 "$crsae" denoise --sigma 25 --out-dir "$tmp/in" "$tmp/in/a.png"
assert "batch: the input is untouched" cmp -s "$tmp/in/a.png" "$tmp/noisy.png"
check "batch into a missing folder" 6 "$crsae" denoise --sigma 25 --out-dir "$tmp/nodir" "$tmp/in/a.png"
mkdir -p "$tmp/in2"
cp "$tmp/in/b.png" "$tmp/in2/a.png"
check "batch: two inputs of one name exit 2" 2 "$crsae" denoise --quiet --sigma 25 --out-dir "$tmp/outd" \
    "$tmp/in/a.png" "$tmp/in2/a.png"
assert "batch: the first of one name is kept" cmp -s "$tmp/outd/a.png" "$tmp/den.png"
check "batch with no input" 2 "$crsae" denoise --sigma 25 --out-dir "$tmp/outd"
check "batch, auto sigma per image" 0 "$crsae" denoise --quiet --out-dir "$tmp/outd" "$tmp/in/a.png" "$tmp/in/b.png"
assert "batch: auto sigma as alone" cmp -s "$tmp/outd/a.png" "$tmp/den2.png"

# --precise: float products; the same picture within rounding
check "denoise --precise" 0 "$crsae" denoise --sigma 25 --precise "$tmp/noisy.png" "$tmp/prec.png"
pp=$("$crsae" psnr "$tmp/den.png" "$tmp/prec.png" | awk '{print $1}')
echo "--precise against the default: $pp dB apart (inf: the same bytes)"
assert "--precise: the same picture (> 50 dB apart or identical)" awk -v p="$pp" 'BEGIN { exit !(p == "inf" || p > 50) }'

# Ctrl-C during denoising: exit 7, the existing output untouched, no temporary left.
"$mkimage" "$tmp/big.png" 1200 1000 3 8 7
"$crsae" noise --sigma 25 --seed 7 "$tmp/big.png" "$tmp/bign.png"
cp "$tmp/clean.png" "$tmp/keep.png"
"$crsae" denoise --sigma 25 --threads 1 "$tmp/bign.png" "$tmp/keep.png" 2>/dev/null &
pid=$!
sleep 1
kill -INT $pid
wait $pid
assert "Ctrl-C during denoise exits 7" test $? -eq 7
assert "Ctrl-C: the existing output is untouched" cmp -s "$tmp/clean.png" "$tmp/keep.png"
assert "Ctrl-C: no temporary file left" test -z "$(ls "$tmp" | grep -F 'keep.png.')"

# layouts and depth are kept
for spec in "1 8" "2 8" "3 8" "4 8" "1 16" "3 16" "4 16"; do
    set -- $spec
    "$mkimage" "$tmp/l.png" 40 30 "$1" "$2" 4
    "$crsae" noise --sigma 15 --seed 1 "$tmp/l.png" "$tmp/ln.png"
    check "denoise ${1}ch ${2}bit" 0 "$crsae" denoise --sigma 15 "$tmp/ln.png" "$tmp/ld.png"
    # IHDR bytes 24 and 25: bit depth and colour type
    assert "layout ${1}ch ${2}bit kept" test "$(od -An -tu1 -j24 -N2 "$tmp/ld.png")" = "$(od -An -tu1 -j24 -N2 "$tmp/l.png")"
done
check "1x1 image" 0 sh -c "'$mkimage' '$tmp/p.png' 1 1 3 8 2 && '$crsae' denoise --sigma 20 '$tmp/p.png' '$tmp/pd.png'"

# The published checkpoints import when this workplace's data is present.
ref=${CRSAE_REFERENCE_MODELS:-/work/shared/reference-models}
if [ -f "$ref/crsae-tied-em-s20.json" ]; then
    check "import tied" 0 "$crsae" import "$ref/crsae-tied-em-s20.json" "$tmp/tied.crsae"
    check "info tied" 0 "$crsae" info "$tmp/tied.crsae"
    assert "tied model info" grep -q "weights: tied" "$tmp/out.txt"
else
    echo "skip: import (no $ref)"
fi

# Training: a tiny model on synthetic images, written atomically, usable.
mkdir -p "$tmp/train"
for i in 1 2 3; do "$mkimage" "$tmp/train/t$i.png" 80 70 1 8 "$i"; done
check "train" 0 "$crsae" train --data "$tmp/train" --sigma 25 --filters 8 --size 5 --stride 2 \
    --iterations 5 --steps 20 --batch 4 --patch 24 --out "$tmp/tiny.crsae"
check "info trained" 0 "$crsae" info "$tmp/tiny.crsae"
assert "provenance says how" grep -q "Trained by crsae" "$tmp/out.txt"
check "info --filters" 0 "$crsae" info "$tmp/tiny.crsae" --filters "$tmp/filters.png"
check "the filter picture is a PNG" 0 "$crsae" psnr "$tmp/filters.png" "$tmp/filters.png"
check "info --filters into a missing folder" 6 "$crsae" info default --filters "$tmp/nodir/f.png"
check "denoise with the trained model" 0 "$crsae" denoise --sigma 25 --model "$tmp/tiny.crsae" "$tmp/noisy.png" "$tmp/tiny-out.png"
# Checkpoints: 12 steps, then resumed to 30, equal an uninterrupted 30.
tiny=(--data "$tmp/train" --sigma 25 --filters 8 --size 5 --stride 2 --iterations 5 --batch 4 --patch 24 --bias em)
check "train 30 steps" 0 "$crsae" train "${tiny[@]}" --steps 30 --out "$tmp/whole.crsae"
check "train 12 steps with a checkpoint" 0 "$crsae" train "${tiny[@]}" --steps 12 \
    --checkpoint "$tmp/ck" --checkpoint-every 5 --out "$tmp/part.crsae"
check "resume to 30 steps" 0 "$crsae" train --data "$tmp/train" --resume "$tmp/ck" --steps 30 \
    --out "$tmp/resumed.crsae"
assert "resume says where" grep -q "resuming at step 12 of 30" "$tmp/err.txt"
"$crsae" denoise --sigma 25 --model "$tmp/whole.crsae" "$tmp/noisy.png" "$tmp/whole.png"
"$crsae" denoise --sigma 25 --model "$tmp/resumed.crsae" "$tmp/noisy.png" "$tmp/resumed.png"
assert "resumed model denoises like the uninterrupted one" cmp -s "$tmp/whole.png" "$tmp/resumed.png"
printf 'CRSAECKP garbage' >"$tmp/badck"
check "resume from a corrupt checkpoint" 5 "$crsae" train --data "$tmp/train" --resume "$tmp/badck" --out "$tmp/r2.crsae"
assert "no model from a corrupt checkpoint" test ! -e "$tmp/r2.crsae"
# Ctrl-C: a checkpoint and a usable model, exit 7.
"$crsae" train "${tiny[@]}" --steps 1000000 --checkpoint "$tmp/ck2" --out "$tmp/int.crsae" 2>"$tmp/int.txt" &
pid=$!
sleep 1.5
kill -INT $pid
wait $pid
assert "Ctrl-C exits 7" test $? -eq 7
check "the model after Ctrl-C loads" 0 "$crsae" info "$tmp/int.crsae"
check "the checkpoint after Ctrl-C resumes" 0 "$crsae" train --data "$tmp/train" --resume "$tmp/ck2" \
    --steps 1 --out "$tmp/int2.crsae"
# Adapting to one noisy photo (SURE), from the tiny model to keep it quick.
check "from-image" 0 "$crsae" train --from-image "$tmp/noisy.png" --init "$tmp/tiny.crsae" --steps 5 \
    --patch 24 --batch 2 --out "$tmp/adapted.crsae"
assert "from-image says the estimated sigma" grep -q "adapting the model to .*sigma" "$tmp/err.txt"
check "the adapted model denoises" 0 "$crsae" denoise --model "$tmp/adapted.crsae" "$tmp/noisy.png" "$tmp/adapted.png"
check "from-image within a time budget" 0 "$crsae" train --from-image "$tmp/noisy.png" --init "$tmp/tiny.crsae" \
    --sigma 25 --seconds 1 --patch 24 --batch 2 --out "$tmp/adapted2.crsae"
check "from-image and --data together" 2 "$crsae" train --from-image "$tmp/noisy.png" --data "$tmp/train" \
    --out "$tmp/x.crsae"
check "from-image of a missing file" 3 "$crsae" train --from-image "$tmp/none.png" --out "$tmp/x.crsae"
check "train needs --out" 2 "$crsae" train --data "$tmp/train" --sigma 25
check "train on no images" 3 "$crsae" train --data "$tmp/none" --sigma 25 --out "$tmp/x.crsae"
check "train into a missing folder" 6 "$crsae" train --data "$tmp/train" --sigma 25 --filters 4 --size 3 \
    --stride 1 --iterations 2 --steps 1 --patch 16 --out "$tmp/nodir/x.crsae"

# Epochs, held-out validation, a noise-level range.
tinybp=(--data "$tmp/train" --sigma 25 --filters 8 --size 5 --stride 2 --iterations 5 --batch 4 --patch 24)
check "train --epochs with --validate" 0 "$crsae" train "${tinybp[@]}" --epochs 1 \
    --sigma-max 40 --validate "$tmp/clean.png" --validate-every 2 --out "$tmp/ep.crsae"
assert "one epoch of 3 images of 80x70 in 24x24 patches, batch 4: 5 steps" \
    grep -q "step 5/5 (epoch 1.11)" "$tmp/err.txt"
assert "held-out PSNR at the range's ends and middle" \
    grep -q "step 5: held-out PSNR .* dB at sigma 25, .* dB at sigma 32.5, .* dB at sigma 40" "$tmp/err.txt"
assert "validation every 2 steps" grep -q "step 4: held-out PSNR" "$tmp/err.txt"
check "a noise-level range with EM thresholds" 2 "$crsae" train "${tiny[@]}" --sigma-max 40 \
    --steps 1 --out "$tmp/x.crsae"
check "a range below --sigma" 2 "$crsae" train "${tinybp[@]}" --sigma-max 10 \
    --steps 1 --out "$tmp/x.crsae"
check "a bad schedule" 2 "$crsae" train "${tiny[@]}" --lr-schedule wavy --out "$tmp/x.crsae"

# The quality control.
check "denoise --quality fast" 0 "$crsae" denoise --sigma 25 --quality fast "$tmp/noisy.png" "$tmp/fast.png"
check "denoise --quality normal" 0 "$crsae" denoise --sigma 25 --quality normal "$tmp/noisy.png" "$tmp/normal.png"
assert "fast differs from normal" sh -c "[ \"\$('$crsae' psnr '$tmp/fast.png' '$tmp/normal.png')\" != inf ]"
assert "normal is the default" sh -c "[ \"\$('$crsae' psnr '$tmp/den.png' '$tmp/normal.png')\" = inf ]"
check "denoise --quality bogus" 2 "$crsae" denoise --sigma 25 --quality bogus "$tmp/noisy.png" "$tmp/x.png"

# Real photographs when this workplace's test images are present (Set12).
data=${CRSAE_DATA:-/work/shared/data}
if [ -d "$data/test/Set12" ]; then
    for img in 01 05 08; do
        "$crsae" noise --sigma 25 --seed "$img" "$data/test/Set12/$img.png" "$tmp/s$img.png"
        check "Set12 $img auto sigma" 0 "$crsae" denoise "$tmp/s$img.png" "$tmp/d$img.png"
        est=$(sed -n 's/.*estimated noise level \([0-9.]*\).*/\1/p' "$tmp/err.txt")
        before=$("$crsae" psnr "$data/test/Set12/$img.png" "$tmp/s$img.png")
        after=$("$crsae" psnr "$data/test/Set12/$img.png" "$tmp/d$img.png")
        echo "Set12 $img sigma 25 (8-bit noisy file): estimated $est, $before dB -> $after dB"
        assert "Set12 $img estimate within 15 %" awk -v e="$est" 'BEGIN { exit !(e > 21.25 && e < 28.75) }'
        assert "Set12 $img gain > 5 dB" awk -v a="$after" -v b="$before" 'BEGIN { exit !(a > b + 5) }'
    done
else
    echo "skip: Set12 (no $data/test/Set12)"
fi

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all checks passed"
