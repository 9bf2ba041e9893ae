#!/usr/bin/python3
"""compare-reference.py - crsae against the published CRsAE code itself, with
the same checkpoint, on the same noisy inputs, in the same run: mean PSNR
and wall time of each.

    bench/compare-reference.py CRSAE REPO JSON MODEL FOLDER [--limit N] [--threads N]

CRSAE  the crsae command-line tool (build/cli/crsae)
REPO   a checkout of btolooshams/crsae (its pytorch/src is imported from
       there; nothing of it is part of crsae)
JSON   the checkpoint's description (../shared/reference-models/crsae-untied-em-s20.json)
MODEL  the same checkpoint as a .crsae file (crsae import JSON MODEL)

The reference's own inference: its CRsAE2DUntied module, forward() on the
whole image (all stride^2 shifts in one batch), under torch.no_grad() on the
CPU with torch.set_num_threads(N).  Noise: sigma 20/255, numpy
default_rng(index) draws added in float, clipped to [0,1] and stored as a
16-bit PNG, whose values both programs get; thresholds at the
checkpoint's own sigma (crsae --sigma 19.89 = 0.078 * 255) for both.  crsae's
time is the whole command (process, model, PNG reading and writing
included), timed two ways: one command per image, and one command over all
the images (crsae denoise --out-dir, as a batch user runs it).
Needs Debian's python3-torch and python3-numpy; reads PNGs with
python3-opencv.  PyTorch's CPU convolutions go through the system BLAS:
install libopenblas0-pthread for its best case (with Debian's reference
BLAS it is about 4 times slower)."""
import json
import os
import subprocess
import sys
import tempfile
import time
import types

import cv2
import numpy as np
import torch


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(1.0 / mse) if mse > 0 else float("inf")


def load_reference(repo, desc_path, threads):
    # utils.py imports pytorch_msssim for a training loss; inference never
    # calls it, and it is not packaged in Debian
    sys.modules.setdefault("pytorch_msssim", types.SimpleNamespace(MS_SSIM=None))
    sys.path.insert(0, os.path.join(repo, "pytorch", "src"))
    import model as ref_model  # noqa: E402  (the reference's own module)

    torch.set_num_threads(threads)
    with open(desc_path) as f:
        desc = json.load(f)
    base = os.path.dirname(desc_path)

    def array(name):
        a = desc["arrays"][name]
        data = np.fromfile(os.path.join(base, a["file"]), dtype="<f4")
        return torch.from_numpy(data.reshape(a["shape"]).copy())

    lam = array("lam").reshape(1, -1, 1, 1) * desc["sigma_train"] ** 2
    hyp = {"num_iters": desc["iterations"], "L": desc["L"], "num_conv": desc["filters"],
           "dictionary_dim": desc["size"], "device": "cpu", "stride": desc["stride"],
           "twosided": True, "lam": lam}
    net = ref_model.CRsAE2DUntied(hyp, array("H"))
    net.get_param("We").data = array("We")
    net.get_param("Wd").data = array("Wd")
    net.eval()
    return net, desc


def main():
    args = sys.argv[1:]
    if len(args) < 5:
        sys.exit(__doc__)
    crsae, repo, desc_path, model_path, folder = args[:5]
    limit = int(args[args.index("--limit") + 1]) if "--limit" in args else 0
    threads = int(args[args.index("--threads") + 1]) if "--threads" in args else 2
    net, desc = load_reference(repo, desc_path, threads)
    sigma = 20.0 / 255.0
    names = sorted(n for n in os.listdir(folder) if n.endswith(".png"))
    if limit:
        names = names[:limit]
    ours, ref, cleans = [], [], []
    ours_t = ref_t = 0.0
    pixels = 0
    common = ["--quiet", "--sigma", f"{desc['sigma_train'] * 255:.4f}", "--threads", str(threads),
              "--model", model_path]
    with tempfile.TemporaryDirectory() as tmp:
        os.mkdir(os.path.join(tmp, "in"))
        os.mkdir(os.path.join(tmp, "out"))
        for i, name in enumerate(names):
            clean = cv2.imread(os.path.join(folder, name), cv2.IMREAD_GRAYSCALE) / 255.0
            pixels += clean.size
            noisy = clean + sigma * np.random.default_rng(i).standard_normal(clean.shape)
            # both get exactly the same values: a 16-bit PNG holds them (clipped
            # to [0,1], as any image file must be)
            n16 = np.round(np.clip(noisy, 0, 1) * 65535).astype(np.uint16)
            x = torch.from_numpy((n16 / 65535.0).astype(np.float32))[None, None]
            t0 = time.perf_counter()
            with torch.no_grad():
                out = net(x)[0]
            ref_t += time.perf_counter() - t0
            ref.append(psnr(clean, np.clip(out[0, 0].numpy(), 0, 1)))
            npath, opath = os.path.join(tmp, "in", name), os.path.join(tmp, "d.png")
            cv2.imwrite(npath, n16)
            cleans.append(clean)
            t0 = time.perf_counter()
            subprocess.run([crsae, "denoise"] + common + [npath, opath], check=True)
            ours_t += time.perf_counter() - t0
            ours.append(psnr(clean, cv2.imread(opath, cv2.IMREAD_UNCHANGED) / 65535.0))
        # the same files in one command
        t0 = time.perf_counter()
        subprocess.run([crsae, "denoise"] + common + ["--out-dir", os.path.join(tmp, "out")] +
                       [os.path.join(tmp, "in", n) for n in names], check=True)
        batch_t = time.perf_counter() - t0
        batch = [psnr(c, cv2.imread(os.path.join(tmp, "out", n), cv2.IMREAD_UNCHANGED) / 65535.0)
                 for c, n in zip(cleans, names)]
    mp = pixels / 1e6
    print(f"{folder}: {len(names)} images, {mp:.2f} megapixels, sigma 20, {threads} threads, "
          f"checkpoint {desc['name']}")
    print(f"  published code (PyTorch {torch.__version__}, CPU): {np.mean(ref):.2f} dB, "
          f"{ref_t:.1f} s ({ref_t / mp:.1f} s/MP)")
    print(f"  crsae, a command per image: {np.mean(ours):.2f} dB, {ours_t:.2f} s "
          f"({ours_t / mp:.2f} s/MP): {ref_t / ours_t:.1f}x faster, "
          f"{np.mean(ours) - np.mean(ref):+.2f} dB")
    print(f"  crsae, one command (--out-dir): {np.mean(batch):.2f} dB, {batch_t:.2f} s "
          f"({batch_t / mp:.2f} s/MP): {ref_t / batch_t:.1f}x faster, "
          f"{np.mean(batch) - np.mean(ref):+.2f} dB")


if __name__ == "__main__":
    main()
