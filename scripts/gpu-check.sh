#!/usr/bin/env bash
# The one-call device check: reassembles the bundle scripts/gpu-bundle.sh made,
# points the loader at the host's CUDA, cuDNN and cuBLAS (the nvidia-* wheels
# of the Python environment that carries PyTorch), and then:
#
#   1. fmam version (the CUDA provider listed or not);
#   2. one train step of MNAD, DRAEM, Jigsaw-VAD and PKG-Net on the CPU and on
#      CUDA: the first step's loss and gradient norm, and their relative
#      difference (fmam bench's first_loss and first_grad_norm);
#   3. fmam bench --device cuda against the same networks in the machine's
#      PyTorch (scripts/bench_compare.py, alternating, fp32, cudnn.benchmark),
#      at width 1.0 and the paper's input sizes;
#   4. a short fmam run of the embedded demo on CUDA.
#
# Everything goes under $OUT (report.txt is the summary; one log per command).
# Without CUDA (no GPU, no driver, no CUDA provider in the bundle) it says so
# in the report, runs the CPU parts and exits 0. Only a broken bundle, or a
# CPU part failing, is an error.
#
#   OUT=/tmp/out scripts/gpu-check.sh [BUNDLE_DIR]     # default gpu-bundle/
#
# Environment: GPU_CHECK_TINY=1 shrinks every part to seconds (tests);
# GPU_CHECK_NETS (default mnad,draem,jigsaw,pkgnet) the networks of parts 2
# and 3; GPU_CHECK_ROUNDS (default 3) rounds per network of the PyTorch comparison;
# PYTHON (default python3) the interpreter with torch and the nvidia wheels.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bundle=${1:-$root/gpu-bundle}
OUT=${OUT:-$root/gpu-check-out}
mkdir -p "$OUT"
report="$OUT/report.txt"
: > "$report"
say() { echo "$*" | tee -a "$report"; }
die() { say "FAILED: $*"; exit 1; }
tiny=${GPU_CHECK_TINY:-0}
rounds=${GPU_CHECK_ROUNDS:-3}
py=${PYTHON:-python3}
t_start=$(date +%s)
say "gpu-check $(date -u +%FT%TZ) on $(hostname), bundle $bundle"

# --- 1. Reassemble: every part against the manifest, then the whole. ---
[ -f "$bundle/SHA256SUMS" ] || die "no $bundle/SHA256SUMS: run scripts/gpu-bundle.sh and carry $bundle/"
work="$bundle/unpacked"
want=$(awk '$2 == "fmam-gpu.tgz" {print $1}' "$bundle/SHA256SUMS")
[ -n "$want" ] || die "$bundle/SHA256SUMS names no fmam-gpu.tgz"
missing=$(cd "$bundle" && awk '$2 != "fmam-gpu.tgz" {print $2}' SHA256SUMS | while read -r p; do [ -f "$p" ] || echo "$p"; done)
[ -z "$missing" ] || die "bundle parts missing (carry them first): $(echo $missing)"
(cd "$bundle" && grep -v ' fmam-gpu.tgz$' SHA256SUMS | sha256sum --quiet -c -) >> "$report" 2>&1 || die "a bundle part does not match SHA256SUMS"
got=$(cat "$bundle"/fmam-gpu.tgz.part-* | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || die "reassembled archive is $got, SHA256SUMS says $want"
say "bundle: parts and archive match SHA256SUMS ($want)"
# A warm machine keeps the unpacked bundle of an earlier call.
if [ ! -f "$work/.sha256" ] || [ "$(cat "$work/.sha256")" != "$want" ]; then
  rm -rf "$work" && mkdir -p "$work"
  cat "$bundle"/fmam-gpu.tgz.part-* | tar -xzf - -C "$work" || die "cannot unpack the bundle"
  echo "$want" > "$work/.sha256"
fi
sed 's/^/  /' "$work/BUNDLE" | tee -a "$report"
fmam="$work/bin/fmam"
export FMAM_ORT_LIB="$work/ort/libonnxruntime.so.1"
# Run folders and caches of the check stay under $OUT.
export FMAM_CACHE="$OUT/cache"

# --- The host's CUDA libraries, from the Python environment's wheels. ---
libdirs=$("$py" - <<'EOF' 2>/dev/null
import glob, os, site, sys
roots = []
try:
    import nvidia
    roots += list(nvidia.__path__)
except Exception:
    pass
for s in site.getsitepackages() + [site.getusersitepackages()]:
    roots.append(os.path.join(s, "nvidia"))
dirs = []
for r in roots:
    for d in sorted(glob.glob(os.path.join(r, "*", "lib"))) + sorted(glob.glob(os.path.join(r, "cu*", "lib"))):
        if d not in dirs:
            dirs.append(d)
print(":".join(dirs))
EOF
)
if [ -n "$libdirs" ]; then
  export LD_LIBRARY_PATH="$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  say "loader: $(echo "$libdirs" | tr ':' '\n' | wc -l) nvidia wheel lib folders from $py"
else
  say "loader: no nvidia-* wheels found through $py"
fi

# --- 1. fmam version, and whether CUDA is there. ---
"$fmam" version > "$OUT/version.txt" 2>&1 || die "fmam version failed (see version.txt)"
sed 's/^/  /' "$OUT/version.txt" | tee -a "$report"
cuda=1
why=""
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L > "$OUT/nvidia-smi.txt" 2>&1; then
  cuda=0; why="no GPU visible (nvidia-smi missing or failing)"
elif [ ! -f "$work/ort/libonnxruntime_providers_cuda.so" ]; then
  cuda=0; why="the bundle has no CUDA provider"
elif ! grep -q CUDAExecutionProvider "$OUT/version.txt"; then
  cuda=0; why="fmam version does not list CUDAExecutionProvider"
fi
if [ "$cuda" = 1 ]; then
  say "CUDA: found: $(head -1 "$OUT/nvidia-smi.txt")"
  nvidia-smi >> "$OUT/nvidia-smi.txt" 2>&1
else
  say "CUDA: not found: $why; running the CPU parts only"
fi

# --- 2. One train step on each device, compared. ---
# name, fmam bench flags for the agreement step (small: the CPU must do it too)
if [ "$tiny" = 1 ]; then
  nets=("mnad|--model mnad --width 0.125 --size 32 --batch 2"
        "draem|--model draem --width 0.0625 --size 32 --batch 2"
        "jigsaw|--model jigsaw --width 0.125 --size 32 --batch 4"
        "pkgnet|--model pkgnet --k 1 --width 0.125 --size 32 --batch 4")
else
  nets=("mnad|--model mnad --width 0.25 --size 64 --batch 4"
        "draem|--model draem --width 0.125 --size 64 --batch 4"
        "jigsaw|--model jigsaw --width 0.5 --size 64 --batch 8"
        "pkgnet|--model pkgnet --k 1 --width 0.5 --size 32 --batch 16")
fi
only=",${GPU_CHECK_NETS:-mnad,draem,jigsaw,pkgnet},"
picked() { [[ "$only" == *",$1,"* ]]; }
devices=(cpu)
[ "$cuda" = 1 ] && devices+=(cuda)
say "one train step per network (first_loss, first_grad_norm):"
for n in "${nets[@]}"; do
  name=${n%%|*}; flags=${n#*|}
  picked "$name" || continue
  for dev in "${devices[@]}"; do
    # shellcheck disable=SC2086
    timeout 300 "$fmam" bench $flags --device "$dev" --steps 1 --warmup 0 --json > "$OUT/step-$name-$dev.json" 2> "$OUT/step-$name-$dev.log" \
      || { [ "$dev" = cpu ] && die "$name on the CPU (see step-$name-$dev.log)"; say "  $name cuda: FAILED (see step-$name-$dev.log)"; }
  done
  "$py" - "$OUT" "$name" "${devices[@]}" <<'EOF' | tee -a "$report"
import json, os, sys
out, name, devs = sys.argv[1], sys.argv[2], sys.argv[3:]
res = {}
for d in devs:
    try:
        with open(os.path.join(out, f"step-{name}-{d}.json")) as f:
            res[d] = json.loads(f.read().strip().splitlines()[-1])
    except Exception:
        pass
line = f"  {name:7s}"
for d, r in res.items():
    line += f" {d}: loss {r['first_loss']:.7g} grad norm {r['first_grad_norm']:.7g} ({r['device_used']}, step {r['train_step_ms']:.1f} ms);"
if "cpu" in res and "cuda" in res:
    rel = lambda a, b: abs(a - b) / max(abs(a), 1e-30)
    c, g = res["cpu"], res["cuda"]
    line += f" rel. diff loss {rel(c['first_loss'], g['first_loss']):.2e}, grad norm {rel(c['first_grad_norm'], g['first_grad_norm']):.2e}"
print(line)
EOF
  [ "${PIPESTATUS[0]}" = 0 ] || die "cannot read the $name step results (see step-$name-*.json)"
done

# --- 3. fmam against PyTorch on CUDA, width 1.0, the paper's sizes. ---
if [ "$cuda" = 1 ]; then
  if "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    say "fmam vs PyTorch $("$py" -c 'import torch; print(torch.__version__)') on CUDA (median step ms; speedup = torch/fmam):"
    if [ "$tiny" = 1 ]; then
      cmps=("mnad|--model mnad --width 0.25 --size 64 --batch 4 --steps 3")
    else
      cmps=("mnad|--model mnad --width 1 --size 256 --batch 4 --steps 10"
            "draem|--model draem --width 1 --size 256 --batch 8 --steps 10"
            "jigsaw|--model jigsaw --width 1 --size 64 --batch 32 --steps 10"
            "pkgnet|--model pkgnet --k 1 --width 1 --size 32 --batch 64 --steps 10")
    fi
    for c in "${cmps[@]}"; do
      name=${c%%|*}; flags=${c#*|}
      picked "$name" || continue
      # shellcheck disable=SC2086
      if timeout 240 "$py" "$root/scripts/bench_compare.py" --fmam "$fmam" --device cuda --rounds "$rounds" $flags \
        > "$OUT/torch-$name.json" 2> "$OUT/torch-$name.log"; then
        "$py" - "$OUT/torch-$name.json" <<'EOF' | tee -a "$report"
import json, sys
d = json.load(open(sys.argv[1]))
f, t, s = d["fmam"], d["torch"], d["speedup"]
print(f"  {d['model']:7s} {d['size']}x{d['size']} batch {d['batch']}: train fmam {f['train_step_ms_median']} torch {t['train_step_ms_median']} "
      f"(x{s['train_step_ms_median']}); infer fmam {f['infer_batch_ms_median']} torch {t['infer_batch_ms_median']} (x{s['infer_batch_ms_median']})")
EOF
      else
        say "  $name: FAILED or timed out (see torch-$name.log)"
      fi
    done
  else
    say "fmam vs PyTorch: skipped, $py has no CUDA-enabled torch"
  fi
else
  say "fmam vs PyTorch on CUDA: skipped, CUDA not found"
fi

# --- 4. A short fmam run of the demo. ---
dev=cpu
[ "$cuda" = 1 ] && dev=cuda
steps=200
[ "$tiny" = 1 ] && steps=2
if FMAM_TRAIN_TEACHER_STEPS=$steps FMAM_TRAIN_STUDENT_STEPS=$steps FMAM_EVAL_PICTURES=0 \
  timeout 240 "$fmam" run --device "$dev" --run "$OUT/run-demo" > "$OUT/run-demo.log" 2>&1; then
  say "fmam run (demo, $steps steps per stage) on $dev: ok"
  tail -n 15 "$OUT/run-demo.log" | sed 's/^/  /' >> "$report"
elif [ "$dev" = cpu ]; then
  die "fmam run on the CPU (see run-demo.log)"
else
  say "fmam run (demo) on cuda: FAILED (see run-demo.log)"
fi
say "done in $(($(date +%s) - t_start)) s; CUDA $([ "$cuda" = 1 ] && echo found || echo "not found")"
