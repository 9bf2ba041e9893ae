#!/usr/bin/python3
"""compare-nlm.py - crsae against OpenCV's non-local means on the same noisy
files: mean PSNR and wall time of each, on 2 threads.

    bench/compare-nlm.py CRSAE FOLDER SIGMA [--h H[,H...]] [--limit N]

Each image gets 8-bit noise from `crsae noise --seed INDEX` (the file a user
would have); crsae denoises it with `--sigma SIGMA --threads 2`,
cv2.fastNlMeansDenoising with filter strength h (7x7 patches, 21x21 search,
OpenCV's defaults) on 2 threads.  Needs Debian's python3-opencv."""
import os
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / mse) if mse > 0 else float("inf")


def main():
    args = sys.argv[1:]
    if len(args) < 3:
        sys.exit(__doc__)
    crsae, folder, sigma = args[0], args[1], float(args[2])
    hs, limit = [sigma], 0
    if "--h" in args:
        hs = [float(v) for v in args[args.index("--h") + 1].split(",")]
    if "--limit" in args:
        limit = int(args[args.index("--limit") + 1])
    names = sorted(n for n in os.listdir(folder) if n.endswith(".png"))
    if limit:
        names = names[:limit]
    cv2.setNumThreads(2)
    ours, ours_t, nlm, nlm_t = [], 0.0, {h: [] for h in hs}, {h: 0.0 for h in hs}
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(names):
            clean_path = os.path.join(folder, name)
            noisy_path, out_path = os.path.join(tmp, "n.png"), os.path.join(tmp, "d.png")
            subprocess.run([crsae, "noise", "--sigma", str(sigma), "--seed", str(i + 1),
                            clean_path, noisy_path], check=True)
            clean = cv2.imread(clean_path, cv2.IMREAD_GRAYSCALE)
            noisy = cv2.imread(noisy_path, cv2.IMREAD_GRAYSCALE)
            t0 = time.perf_counter()
            subprocess.run([crsae, "denoise", "--quiet", "--sigma", str(sigma), "--threads", "2",
                            noisy_path, out_path], check=True)
            ours_t += time.perf_counter() - t0
            ours.append(psnr(clean, cv2.imread(out_path, cv2.IMREAD_GRAYSCALE)))
            for h in hs:
                t0 = time.perf_counter()
                den = cv2.fastNlMeansDenoising(noisy, None, h, 7, 21)
                nlm_t[h] += time.perf_counter() - t0
                nlm[h].append(psnr(clean, den))
    print(f"{folder}: {len(names)} images, sigma {sigma:g} (8-bit noisy files), 2 threads")
    print(f"  crsae (built-in model): {np.mean(ours):.2f} dB, {ours_t:.1f} s in all "
          f"(command line, PNG reading and writing included)")
    for h in hs:
        print(f"  OpenCV fastNlMeansDenoising h={h:g}: {np.mean(nlm[h]):.2f} dB, {nlm_t[h]:.1f} s; "
              f"crsae {np.mean(ours) - np.mean(nlm[h]):+.2f} dB, {ours_t / nlm_t[h]:.1f}x the time")


if __name__ == "__main__":
    main()
