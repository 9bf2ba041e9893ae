#!/usr/bin/env bash
# The dialog in a real GIMP 3 under Xvfb: it opens with its controls, a
# screenshot is kept (dialog.png in the test's folder), Return presses OK
# and the image is denoised.  Run as: xvfb-run -a dialog.sh PLUGIN CRSAE MKIMAGE
set -u
plugin=$(readlink -f "$1") crsae=$(readlink -f "$2") mkimage=$(readlink -f "$3")
work=${TEST_TMPDIR:-$(mktemp -d)}
rm -rf "$work" && mkdir -p "$work" && work=$(readlink -f "$work")
[ -n "${DISPLAY:-}" ] || { echo "FAIL: no X display (run under xvfb-run)"; exit 1; }
export CRSAE_PREVIEW_TIMING=1 GIMP3_DIRECTORY="$work/profile" XDG_CONFIG_HOME="$work/xdg" XDG_CACHE_HOME="$work/cache" XDG_DATA_HOME="$work/data"
mkdir -p "$GIMP3_DIRECTORY/plug-ins/crsae-gimp"
ln -sf "$plugin" "$GIMP3_DIRECTORY/plug-ins/crsae-gimp/crsae-gimp"

"$mkimage" "$work/clean.png" 640 512 3 8 5
"$crsae" noise --sigma 25 --seed 5 "$work/clean.png" "$work/noisy.png"

timeout 300 gimp-console-3.0 -i --batch-interpreter=plug-in-script-fu-eval -b "(begin (script-fu-use-v3)
  (let* ((img (gimp-file-load RUN-NONINTERACTIVE \"$work/noisy.png\"))
         (drw (vector-ref (gimp-image-get-selected-drawables img) 0)))
    (plug-in-crsae-denoise #:run-mode RUN-INTERACTIVE #:image img #:drawables (vector drw)
                           #:noise-level 25.0)
    (gimp-file-save RUN-NONINTERACTIVE img \"$work/out.png\" -1)
    (gimp-image-delete img)))" --quit >"$work/gimp.log" 2>&1 &
gimp=$!

wid=""
for _ in $(seq 1 180); do
    wid=$(xdotool search --name '^Denoise \(CRsAE\)$' 2>/dev/null | head -n1)
    [ -n "$wid" ] && break
    kill -0 "$gimp" 2>/dev/null || break
    sleep 0.5
done
if [ -z "$wid" ]; then
    echo "FAIL: the dialog did not open"; kill "$gimp" 2>/dev/null; tail -20 "$work/gimp.log"; exit 1
fi
sleep 3 # the preview renders
import -window "$wid" "$work/dialog.png" && echo "screenshot: $work/dialog.png"
# A user who enlarges the dialog gets a larger preview: grow the window so
# that the preview shows (up to) 512 x 512 pixels of the image, and let it
# render again (its times are in the log below).
xdotool windowsize "$wid" 1300 1100 2>/dev/null
sleep 6
import -window "$wid" "$work/dialog-large.png" && echo "screenshot: $work/dialog-large.png"
# Without a window manager nothing has the focus: give it, then press
# Return (the dialog's default response is OK); click OK if that fails.
xdotool windowfocus --sync "$wid" 2>/dev/null
# "Learn from this image" (Alt+F) runs in the background: the dialog stays
# alive and shows progress; "Stop learning" (Alt+T) leaves no model behind.
xdotool key alt+f
sleep 4
import -window "$wid" "$work/learning.png" && echo "screenshot: $work/learning.png"
xdotool windowfocus --sync "$wid" 2>/dev/null
xdotool key alt+t
sleep 1
import -window "$wid" "$work/stopping.png"
kill -0 "$gimp" 2>/dev/null || { echo "FAIL: GIMP ended during learning"; tail -20 "$work/gimp.log"; exit 1; }
# OK is insensitive until the run has stopped (at the end of its step):
# press OK (Alt+O) until the dialog closes.
for _ in $(seq 1 40); do
    kill -0 "$gimp" 2>/dev/null || break
    xdotool windowfocus --sync "$wid" 2>/dev/null
    xdotool key alt+o
    sleep 1.5
done
for _ in $(seq 1 20); do kill -0 "$gimp" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$gimp" 2>/dev/null; then
    echo "Return did not close the dialog; clicking OK"
    eval "$(xdotool getwindowgeometry --shell "$wid")"
    xdotool mousemove --window "$wid" $((WIDTH - 56)) $((HEIGHT - 30)) click 1
fi
for _ in $(seq 1 240); do kill -0 "$gimp" 2>/dev/null || break; sleep 0.5; done
wait "$gimp"
rc=$?
[ "$rc" -eq 0 ] || { echo "FAIL: GIMP exited with $rc"; tail -20 "$work/gimp.log"; exit 1; }
if [ -n "$(ls "$GIMP3_DIRECTORY/crsae/" 2>/dev/null)" ]; then
    echo "FAIL: a stopped learning run left a model: $(ls "$GIMP3_DIRECTORY/crsae/")"; exit 1
fi
echo "ok: learning ran in the background; stopping it left no model"
before=$("$crsae" psnr "$work/clean.png" "$work/noisy.png")
after=$("$crsae" psnr "$work/clean.png" "$work/out.png")
echo "dialog + OK: $before dB -> $after dB"
awk -v a="$after" -v b="$before" 'BEGIN { exit !(a > b + 5) }' || { echo "FAIL: no PSNR gain"; exit 1; }
echo "ok: the dialog opened, OK applied the filter"
# The preview's own report (CRSAE_PREVIEW_TIMING): a figure for the log,
# and proof that a draft and a full preview were drawn.
grep 'crsae: preview' "$work/gimp.log" || true
grep -q 'crsae: preview draft' "$work/gimp.log" || { echo "FAIL: no draft preview drawn"; exit 1; }
grep -q 'crsae: preview final' "$work/gimp.log" || { echo "FAIL: no full preview drawn"; exit 1; }
