#!/usr/bin/python3
"""Compare fmam's training engine with PyTorch on the same network, fairly.

Runs `fmam bench` and scripts/bench_torch.py alternately for --rounds rounds
(each run is its own process, as a user would run them; the order within a
round alternates too) and prints one JSON object: per program the median of
the per-run medians and the fastest step or batch seen, the ratios torch/fmam
of both (above 1: fmam is faster), and the paired ratios: torch's median over
fmam's median within each round, and their median over the rounds.

Shared machines here change speed in phases lasting seconds to minutes, which
moves a single run's median by up to 2x; comparing the two runs of one round,
and looking at the fastest step as well, is what keeps the comparison honest.

  /usr/bin/python3 scripts/bench_compare.py --fmam ./bin/fmam --model draem \\
      --width 0.125 --rounds 5

PKG-Net: --model pkgnet --k 1 (or 2) --size 32; fmam bench must then take
--k as well.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fmam", default="./bin/fmam", help="fmam binary")
    ap.add_argument("--model", choices=("mnad", "draem", "jigsaw", "pkgnet"), required=True)
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--k", type=int, choices=(1, 2), default=1, help="pkgnet: variant, passed to both programs")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="passed to both programs")
    args = ap.parse_args(argv)
    common = ["--model", args.model, "--width", str(args.width), "--size", str(args.size),
              "--batch", str(args.batch), "--threads", str(args.threads), "--steps", str(args.steps),
              "--device", args.device]
    if args.model == "pkgnet":
        common += ["--k", str(args.k)]
    here = os.path.dirname(os.path.abspath(__file__))
    progs = {
        "fmam": [args.fmam, "bench", "--json"] + common,
        "torch": [sys.executable, os.path.join(here, "bench_torch.py")] + common,
    }
    runs = {name: [] for name in progs}
    for r in range(args.rounds):
        # Alternate which program goes first, so neither always runs in
        # the other's wake.
        order = list(progs) if r % 2 == 0 else list(reversed(progs))
        for name in order:
            cmd = progs[name]
            res = run_json(cmd)
            runs[name].append(res)
            print(f"round {r + 1}/{args.rounds} {name}: train {res['train_step_ms']:.1f} ms "
                  f"(fastest {res['train_step_min_ms']:.1f}), infer {res['infer_batch_ms']:.1f} ms "
                  f"(fastest {res['infer_batch_min_ms']:.1f})", file=sys.stderr)
    summary = {"model": args.model, "width": args.width, "size": args.size, "batch": args.batch,
               "threads": args.threads, "steps": args.steps, "rounds": args.rounds, "device": args.device}
    if args.model == "pkgnet":
        summary["k"] = args.k
    for name, rs in runs.items():
        summary[name] = {
            "train_step_ms_median": round(statistics.median(r["train_step_ms"] for r in rs), 2),
            "train_step_ms_fastest": round(min(r["train_step_min_ms"] for r in rs), 2),
            "infer_batch_ms_median": round(statistics.median(r["infer_batch_ms"] for r in rs), 2),
            "infer_batch_ms_fastest": round(min(r["infer_batch_min_ms"] for r in rs), 2),
            "train_step_ms_runs": [round(r["train_step_ms"], 1) for r in rs],
        }
    f, t = summary["fmam"], summary["torch"]
    summary["speedup"] = {k: round(t[k] / f[k], 2) for k in
                          ("train_step_ms_median", "train_step_ms_fastest", "infer_batch_ms_median", "infer_batch_ms_fastest")}
    paired = {}
    for key in ("train_step_ms", "infer_batch_ms"):
        ratios = [tr[key] / fr[key] for fr, tr in zip(runs["fmam"], runs["torch"])]
        paired[key] = {
            "ratio_median": round(statistics.median(ratios), 2),
            "ratio_min": round(min(ratios), 2),
            "ratio_max": round(max(ratios), 2),
            "ratio_rounds": [round(x, 2) for x in ratios],
        }
    summary["paired"] = paired
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
