#!/usr/bin/env bash
# Headless GIMP 3 tests of the plug-in through Script-Fu v3 and Python-Fu:
# PSNR gain, equality with the command line, grey/RGBA/16-bit, a selection,
# an indexed image, a missing model, the Japanese menu label.
#   batch.sh PLUGIN CRSAE MKIMAGE MOFILE
set -u
plugin=$(readlink -f "$1") crsae=$(readlink -f "$2") mkimage=$(readlink -f "$3") mo=$(readlink -f "$4")
work=${TEST_TMPDIR:-$(mktemp -d)}
mkdir -p "$work"
work=$(readlink -f "$work")
rm -rf "$work"/*
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

export GIMP3_DIRECTORY="$work/profile" XDG_CONFIG_HOME="$work/xdg" XDG_CACHE_HOME="$work/cache" XDG_DATA_HOME="$work/data"
unset DISPLAY
mkdir -p "$GIMP3_DIRECTORY/plug-ins/crsae-gimp/locale/ja/LC_MESSAGES"
ln -sf "$plugin" "$GIMP3_DIRECTORY/plug-ins/crsae-gimp/crsae-gimp"
ln -sf "$mo" "$GIMP3_DIRECTORY/plug-ins/crsae-gimp/locale/ja/LC_MESSAGES/crsae.mo"
mkdir -p "$work/profile-ja/plug-ins"
cp -a "$GIMP3_DIRECTORY/plug-ins/crsae-gimp" "$work/profile-ja/plug-ins/"

gimp_batch() { # gimp_batch LOGNAME INTERPRETER CODE
    timeout 300 gimp-console-3.0 -i --batch-interpreter="$2" -b "$3" --quit >"$work/$1.log" 2>&1
}

# Test images: synthetic, noisy at sigma 25.
"$mkimage" "$work/grey.png" 120 90 1 8 1 && "$crsae" noise --sigma 25 --seed 1 "$work/grey.png" "$work/grey-n.png"
"$mkimage" "$work/rgba.png" 100 80 4 8 2 && "$crsae" noise --sigma 25 --seed 2 "$work/rgba.png" "$work/rgba-n.png"
"$mkimage" "$work/g16.png" 90 70 1 16 3 && "$crsae" noise --sigma 25 --seed 3 "$work/g16.png" "$work/g16-n.png"
"$mkimage" "$work/rgb.png" 96 96 3 8 4 && "$crsae" noise --sigma 25 --seed 4 "$work/rgb.png" "$work/rgb-n.png"

scm="(script-fu-use-v3)
(define (crsae-run in out level model)
  (let* ((img (gimp-file-load RUN-NONINTERACTIVE in))
         (drw (vector-ref (gimp-image-get-selected-drawables img) 0)))
    (plug-in-crsae-denoise #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector drw)
                           #:noise-level level #:model model)
    (gimp-file-save RUN-NONINTERACTIVE img out -1)
    (gimp-image-delete img)))
(define (crsae-select in out)
  (let* ((img (gimp-file-load RUN-NONINTERACTIVE in))
         (drw (vector-ref (gimp-image-get-selected-drawables img) 0)))
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 20 10 40 30)
    (plug-in-crsae-denoise #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector drw)
                           #:noise-level 25.0)
    (gimp-selection-none img)
    (gimp-file-save RUN-NONINTERACTIVE img out -1)
    (gimp-image-delete img)))"

t0=$SECONDS
if gimp_batch scriptfu plug-in-script-fu-eval "(begin $scm
  (crsae-run \"$work/grey-n.png\" \"$work/grey-g.png\" 25.0 \"\")
  (crsae-run \"$work/rgba-n.png\" \"$work/rgba-g.png\" 25.0 \"\")
  (crsae-run \"$work/g16-n.png\" \"$work/g16-g.png\" 25.0 \"\")
  (crsae-run \"$work/rgb-n.png\" \"$work/rgb-auto.png\" 0.0 \"\")
  (crsae-select \"$work/grey-n.png\" \"$work/grey-sel.png\"))"; then
    ok "Script-Fu batch ran ($((SECONDS - t0)) s)"
else
    bad "Script-Fu batch (rc $?)"; tail -20 "$work/scriptfu.log"
fi

# The quality choice: best (the 8-transform ensemble) and fast (a fifth of
# the shifts) write the same pixels as crsae denoise --quality.
for q in best fast; do
    if gimp_batch "q-$q" plug-in-script-fu-eval "(begin (script-fu-use-v3)
      (let* ((img (gimp-file-load RUN-NONINTERACTIVE \"$work/rgb-n.png\"))
             (drw (vector-ref (gimp-image-get-selected-drawables img) 0)))
        (plug-in-crsae-denoise #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector drw)
                               #:noise-level 25.0 #:quality \"$q\")
        (gimp-file-save RUN-NONINTERACTIVE img \"$work/rgb-$q.png\" -1)))" &&
       "$crsae" denoise --quiet --sigma 25 --quality $q "$work/rgb-n.png" "$work/rgb-$q-cli.png" &&
       [ "$("$crsae" psnr "$work/rgb-$q-cli.png" "$work/rgb-$q.png")" = inf ]; then
        ok "quality $q equals crsae denoise --quality $q"
    else
        bad "quality $q"; tail -5 "$work/q-$q.log"
    fi
done
if [ "$("$crsae" psnr "$work/rgb-fast.png" "$work/rgb-best.png" 2>/dev/null)" != inf ]; then
    ok "fast and best differ"
else
    bad "fast and best gave the same pixels"
fi

for name in grey rgba g16; do
    "$crsae" denoise --quiet --sigma 25 "$work/$name-n.png" "$work/$name-cli.png"
    before=$("$crsae" psnr "$work/$name.png" "$work/$name-n.png")
    after=$("$crsae" psnr "$work/$name.png" "$work/$name-g.png" 2>/dev/null || echo 0)
    same=$("$crsae" psnr "$work/$name-cli.png" "$work/$name-g.png" 2>/dev/null || echo 0)
    echo "$name: noisy $before dB, GIMP $after dB, GIMP vs CLI $same dB"
    awk -v a="$after" -v b="$before" 'BEGIN { exit !(a > b + 5) }' && ok "$name PSNR gain" || bad "$name PSNR gain"
    # 8-bit: identical pixels; 16-bit: within one level of rounding
    if [ "$same" = inf ] || awk -v s="$same" -v n="$name" 'BEGIN { exit !(n == "g16" && s > 90) }'; then
        ok "$name equals the CLI"
    else
        bad "$name differs from the CLI"
    fi
done
before=$("$crsae" psnr "$work/rgb.png" "$work/rgb-n.png")
after=$("$crsae" psnr "$work/rgb.png" "$work/rgb-auto.png" 2>/dev/null || echo 0)
awk -v a="$after" -v b="$before" 'BEGIN { exit !(a > b + 5) }' && ok "RGB with estimated noise level ($before -> $after dB)" || bad "RGB auto ($before -> $after)"

# Selection: pixels outside the rectangle unchanged, inside changed.
if [ -f "$work/grey-sel.png" ]; then
    python3 - "$work/grey-n.png" "$work/grey-sel.png" <<'PY' && ok "selection respected" || bad "selection not respected"
import sys, zlib, struct
def grey8(path):
    data = open(path, 'rb').read()
    pos, idat, w = 8, b'', 0
    while pos < len(data):
        n, t = struct.unpack('>I4s', data[pos:pos + 8]); body = data[pos + 8:pos + 8 + n]
        if t == b'IHDR': w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
        if t == b'IDAT': idat += body
        pos += 12 + n
    raw, bpp = zlib.decompress(idat), {0: 1, 4: 2}[ctype]
    stride, rows, prev = w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line[::bpp])); prev = line
    return rows
a, b = grey8(sys.argv[1]), grey8(sys.argv[2])
inside = outside_diff = changed = 0
for y in range(len(a)):
    for x in range(len(a[0])):
        if 20 <= x < 60 and 10 <= y < 40:
            changed += a[y][x] != b[y][x]
        else:
            outside_diff += a[y][x] != b[y][x]
print("selection: changed inside", changed, "of 1200; changed outside", outside_diff)
sys.exit(0 if outside_diff == 0 and changed > 1000 else 1)
PY
else
    bad "selection output missing"
fi

# Indexed image: a clear error, nothing written.
convert "$work/rgb-n.png" -colors 64 -type Palette "PNG8:$work/indexed.png" 2>/dev/null
if gimp_batch indexed plug-in-script-fu-eval "(begin (script-fu-use-v3)
  (let* ((img (gimp-file-load RUN-NONINTERACTIVE \"$work/indexed.png\"))
         (drw (vector-ref (gimp-image-get-selected-drawables img) 0)))
    (plug-in-crsae-denoise #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector drw) #:noise-level 20.0)
    (gimp-file-save RUN-NONINTERACTIVE img \"$work/indexed-out.png\" -1)))"; then
    bad "indexed image was accepted"
elif grep -qi "indexed" "$work/indexed.log" && [ ! -e "$work/indexed-out.png" ]; then
    ok "indexed image: clear error, nothing written"
else
    bad "indexed image: no clear error"; tail -5 "$work/indexed.log"
fi

# A model file that is not a model: a clear error.
printf 'not a model' >"$work/bad.crsae"
if gimp_batch badmodel plug-in-script-fu-eval "(begin $scm (crsae-run \"$work/grey-n.png\" \"$work/bad-out.png\" 25.0 \"$work/bad.crsae\"))"; then
    bad "corrupt model accepted"
elif grep -q "Cannot load the model" "$work/badmodel.log" && [ ! -e "$work/bad-out.png" ]; then
    ok "corrupt model: clear error, nothing written"
else
    bad "corrupt model: no clear error"; tail -5 "$work/badmodel.log"
fi

# A 1x1 image works.  An empty selection means "no selection" in GIMP, so
# the whole layer is denoised, as GIMP's own filters do.
"$mkimage" "$work/one.png" 1 1 3 8 9
if gimp_batch tiny plug-in-script-fu-eval "(begin $scm (crsae-run \"$work/one.png\" \"$work/one-out.png\" 20.0 \"\"))" &&
   [ -f "$work/one-out.png" ]; then
    ok "1x1 image"
else
    bad "1x1 image"; tail -5 "$work/tiny.log"
fi
if gimp_batch empty plug-in-script-fu-eval "(begin (script-fu-use-v3)
  (let* ((img (gimp-file-load RUN-NONINTERACTIVE \"$work/grey-n.png\"))
         (drw (vector-ref (gimp-image-get-selected-drawables img) 0)))
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 10 10 20 20)
    (gimp-image-select-rectangle img CHANNEL-OP-SUBTRACT 0 0 200 200)
    (plug-in-crsae-denoise #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector drw) #:noise-level 25.0)
    (gimp-file-save RUN-NONINTERACTIVE img \"$work/empty-out.png\" -1)))" &&
   [ "$("$crsae" psnr "$work/grey-cli.png" "$work/empty-out.png")" = inf ]; then
    ok "empty selection: the whole layer, like GIMP's filters"
else
    bad "empty selection"; tail -5 "$work/empty.log"
fi

# The Script-Fu batch example of README.md, as it stands there, on a folder.
readme=$(dirname "$(readlink -f "$0")")/../../README.md
mkdir -p "$work/photos"
cp "$work/grey-n.png" "$work/photos/a.png"
cp "$work/rgb-n.png" "$work/photos/b.png"
example=$(awk '/^gimp-console-3.0 -i --batch-interpreter=plug-in-script-fu-eval -b/ { on = 1; next }
               on && /^ *\(file-glob/ { print; on = 0; next } on { print }' "$readme")
example=${example%"' --quit"}
example=${example//\/abs\/path\/photos/$work/photos}
if [ -n "$example" ] && gimp_batch readme plug-in-script-fu-eval "$example" &&
   [ -f "$work/photos/a.png.denoised.png" ] && [ -f "$work/photos/b.png.denoised.png" ]; then
    a=$("$crsae" psnr "$work/grey.png" "$work/photos/a.png.denoised.png")
    b=$("$crsae" psnr "$work/rgb.png" "$work/photos/b.png.denoised.png")
    if awk -v a="$a" -v b="$b" 'BEGIN { exit !(a > 25 && b > 25) }'; then
        ok "README's Script-Fu example denoised a folder ($a dB, $b dB)"
    else
        bad "README's Script-Fu example: $a dB, $b dB"
    fi
else
    bad "README's Script-Fu example did not run"; tail -5 "$work/readme.log"
fi

# Python-Fu, the same call.
if gimp_batch python python-fu-eval "
from gi.repository import Gimp, Gio
img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path('$work/grey-n.png'))
proc = Gimp.get_pdb().lookup_procedure('plug-in-crsae-denoise')
cfg = proc.create_config()
cfg.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
cfg.set_property('image', img)
cfg.set_core_object_array('drawables', img.get_selected_drawables()[:1])
cfg.set_property('noise-level', 25.0)
res = proc.run(cfg)
assert res.index(0) == Gimp.PDBStatusType.SUCCESS, res.index(0)
Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path('$work/grey-py.png'), None)
img.delete()
" && [ "$("$crsae" psnr "$work/grey-cli.png" "$work/grey-py.png")" = inf ]; then
    ok "Python-Fu gives the same pixels"
else
    bad "Python-Fu"; tail -10 "$work/python.log"
fi

# Learning: plug-in-crsae-learn writes a model into the profile's crsae
# folder (never over an existing one), it loads, and denoising with it works.
if gimp_batch learn python-fu-eval "
from gi.repository import Gimp, Gio
img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path('$work/grey-n.png'))
learn = Gimp.get_pdb().lookup_procedure('plug-in-crsae-learn')
paths = []
for i in range(2):
    cfg = learn.create_config()
    cfg.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property('image', img)
    cfg.set_core_object_array('drawables', img.get_selected_drawables()[:1])
    cfg.set_property('name', 'mine')
    cfg.set_property('seconds', 3.0)
    res = learn.run(cfg)
    assert res.index(0) == Gimp.PDBStatusType.SUCCESS, res.index(0)
    paths.append(res.index(1))
print('LEARNED:', paths[0], paths[1])
den = Gimp.get_pdb().lookup_procedure('plug-in-crsae-denoise')
cfg = den.create_config()
cfg.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
cfg.set_property('image', img)
cfg.set_core_object_array('drawables', img.get_selected_drawables()[:1])
cfg.set_property('noise-level', 25.0)
cfg.set_property('model', paths[0])
res = den.run(cfg)
assert res.index(0) == Gimp.PDBStatusType.SUCCESS, res.index(0)
Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path('$work/grey-learned.png'), None)
"; then
    learned=$(grep -a -o 'LEARNED: .*' "$work/learn.log")
    m1=$GIMP3_DIRECTORY/crsae/mine.crsae m2=$GIMP3_DIRECTORY/crsae/mine-2.crsae
    if [ "$learned" = "LEARNED: $m1 $m2" ] && "$crsae" info "$m1" >/dev/null && "$crsae" info "$m2" >/dev/null &&
       "$crsae" info "$m1" | grep -q "Learned in GIMP"; then
        ok "learn: two models written side by side, both load"
    else
        bad "learn: unexpected result ($learned)"
    fi
    before=$("$crsae" psnr "$work/grey.png" "$work/grey-n.png")
    after=$("$crsae" psnr "$work/grey.png" "$work/grey-learned.png" 2>/dev/null || echo 0)
    awk -v a="$after" -v b="$before" 'BEGIN { exit !(a > b + 5) }' && ok "denoise with the learned model ($before -> $after dB)" || bad "denoise with the learned model ($before -> $after)"
else
    bad "learn"; tail -10 "$work/learn.log"
fi

# The menu label in Japanese (the plug-in's own catalog).
# A fresh profile, so that GIMP queries the plug-in in Japanese.
if GIMP3_DIRECTORY="$work/profile-ja" LANGUAGE=ja LC_ALL=ja_JP.UTF-8 gimp_batch ja python-fu-eval "
from gi.repository import Gimp
p = Gimp.get_pdb().lookup_procedure('plug-in-crsae-denoise')
print('MENU-LABEL:', p.get_menu_label())
" && grep -q "MENU-LABEL: .*ノイズ" "$work/ja.log"; then
    ok "Japanese menu label: $(grep -o 'MENU-LABEL: .*' "$work/ja.log")"
else
    bad "Japanese menu label"; grep -a "MENU-LABEL" "$work/ja.log" | tail -2
fi

[ "$fails" -eq 0 ] && echo "all GIMP checks passed" || { echo "$fails GIMP check(s) failed (logs in $work)"; exit 1; }
