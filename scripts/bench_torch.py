#!/usr/bin/python3
"""CPU reference benchmark for fmam's Go training engine.

Builds one of the two teacher architectures fmam works with, in PyTorch, at a
width multiplier, and times Adam training steps and eval-mode inference
batches on the CPU. Prints exactly one JSON object on stdout:

  {"model", "width", "size", "batch", "threads",
   "train_step_ms", "infer_batch_ms", "train_step_min_ms",
   "infer_batch_min_ms", "params"}

train_step_ms and infer_batch_ms are medians over --steps timed iterations
after --warmup untimed ones; the *_min_ms fields are the fastest of them.
params counts trainable parameters only (conv and transposed-conv weights
and biases, BatchNorm weight and bias); BatchNorm running statistics are
buffers and are not counted.

Models (every internal channel count c becomes round_half_up(c * width),
at least 1; the data channels -- 12 in/3 out for MNAD, 3 in/3+2 out for
DRAEM -- are never scaled):

  mnad   MNAD's prediction network without the memory module (Park et al.,
         CVPR 2020): input 4 frames x 3 channels, output the next frame
         (Tanh). Skip connections are concatenated skip-first, as in MNAD.
  draem  DRAEM (Zavrtanik et al., ICCV 2021): reconstructive subnetwork (base
         width 128*w) followed by the discriminative subnetwork (base width
         64*w) on reconstruction ++ image; upsampled tensor first in the
         decoder's concatenations, as in DRAEM.
  jigsaw Jigsaw-VAD's WideBranchNet (Wang et al., ECCV 2022) on cubes
         3 x --frames x --size x --size in [0, 1]: three stages of two
         Conv3d-InstanceNorm3d-ReLU, Conv2d-InstanceNorm2d-ReLU-Dropout2d,
         two heads (T*T and 81 logits). The 512 of the heads scales with
         --width too. Loss: half the batch temporal, half spatial puzzles,
         cross-entropy per branch as the official main.py. --size 64 is the
         paper's (the heads read 64 x (size/16)^2 features).

  pkgnet PKG-Net's student U-Net (Deng et al., MMAsia 2023; official
         networks.py) on --size x --size patches (32 is the paper's): input 4
         frames x 3 channels, output the target patch (1x1 conv, no
         activation). --k 1: strided-conv encoder to size/8, concatenated
         skips at every decoder stage; --k 2: max-pool encoder, first decoder
         stage without skip. Loss as the official train.py with fmam's
         internal/baseline/pkgnet: 0.8 MSE + 0.1 gradient loss (alpha 3) +
         0.2 (1 - cosine) against fixed random teacher features of the
         distilled shapes (the frozen backbone is not part of the timing).
         Trained, as officially, with BatchNorm in eval mode (--pkgnet-bn
         train times batch statistics instead).

Module names follow /work/shared/teachers/*.onnx: an eval-mode export of these
modules at opset 13 reproduces those graphs node for node (names, ops,
concatenation order, initializer shapes).

Use the Debian interpreter, which carries PyTorch 1.13:

  /usr/bin/python3 scripts/bench_torch.py --model mnad --width 0.25 \
      --size 64 --batch 4 --threads 2
"""

import argparse
import json
import math
import statistics
import sys
import time

import torch
from torch import nn


def scaled(c, width):
    """Scale a channel count; half rounds up so a Go port using math.Round agrees."""
    return max(1, int(math.floor(c * width + 0.5)))


def conv3(i, o):
    return nn.Conv2d(i, o, kernel_size=3, stride=1, padding=1)


def conv_bn_relu(i, o):
    return [conv3(i, o), nn.BatchNorm2d(o), nn.ReLU(inplace=False)]


def double_conv(i, o):
    """conv-BN-ReLU-conv-BN-ReLU, the basic block of both networks."""
    return nn.Sequential(*conv_bn_relu(i, o), *conv_bn_relu(o, o))


def pool2(x):
    # Functional, not a module, so an export names the nodes /MaxPool like
    # the shared teacher ONNX files.
    return nn.functional.max_pool2d(x, 2)


def upsample2():
    return nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)


class MNADPred(nn.Module):
    """MNAD prediction network without memory."""

    def __init__(self, width, in_ch=12, out_ch=3):
        super().__init__()
        c64, c128, c256, c512 = (scaled(c, width) for c in (64, 128, 256, 512))
        self.e1 = double_conv(in_ch, c64)
        self.e2 = double_conv(c64, c128)
        self.e3 = double_conv(c128, c256)
        # Basic_: the last conv has no BN-ReLU; its output is the bottleneck.
        self.e4 = nn.Sequential(*conv_bn_relu(c256, c512), conv3(c512, c512))
        self.m = double_conv(c512, c512)
        self.u4 = self._up(c512, c256)
        self.d3 = double_conv(2 * c256, c256)
        self.u3 = self._up(c256, c128)
        self.d2 = double_conv(2 * c128, c128)
        self.u2 = self._up(c128, c64)
        self.gen = nn.Sequential(
            *conv_bn_relu(2 * c64, c64),
            *conv_bn_relu(c64, c64),
            conv3(c64, out_ch),
            nn.Tanh(),
        )

    @staticmethod
    def _up(i, o):
        return nn.Sequential(
            nn.ConvTranspose2d(i, o, kernel_size=3, stride=2, padding=1, output_padding=1),
            nn.BatchNorm2d(o),
            nn.ReLU(inplace=False),
        )

    def forward(self, x):
        s1 = self.e1(x)
        s2 = self.e2(pool2(s1))
        s3 = self.e3(pool2(s2))
        z = self.e4(pool2(s3))
        y = self.m(z)
        y = self.d3(torch.cat((s3, self.u4(y)), dim=1))
        y = self.d2(torch.cat((s2, self.u3(y)), dim=1))
        return self.gen(torch.cat((s1, self.u2(y)), dim=1))


class DRAEMRecon(nn.Module):
    """DRAEM reconstructive subnetwork: plain encoder-decoder, no skips."""

    def __init__(self, width, in_ch=3, out_ch=3):
        super().__init__()
        b = scaled(128, width)
        enc = [(in_ch, b), (b, 2 * b), (2 * b, 4 * b), (4 * b, 8 * b), (8 * b, 8 * b)]
        self.enc = nn.ModuleList(double_conv(i, o) for i, o in enc)
        dec = [(8 * b, 4 * b), (4 * b, 2 * b), (2 * b, b), (b, b)]
        self.dec = nn.ModuleList(
            nn.Sequential(
                nn.Sequential(upsample2(), *conv_bn_relu(i, i)),
                *conv_bn_relu(i, i),
                *conv_bn_relu(i, o),
            )
            for i, o in dec
        )
        self.out = conv3(b, out_ch)

    def forward(self, x):
        for k, block in enumerate(self.enc):
            if k > 0:
                x = pool2(x)
            x = block(x)
        for block in self.dec:
            x = block(x)
        return self.out(x)


class DRAEMDisc(nn.Module):
    """DRAEM discriminative subnetwork: U-Net over reconstruction ++ image."""

    def __init__(self, width, in_ch=6, out_ch=2):
        super().__init__()
        b = scaled(64, width)
        enc = [(in_ch, b), (b, 2 * b), (2 * b, 4 * b), (4 * b, 8 * b), (8 * b, 8 * b), (8 * b, 8 * b)]
        self.enc = nn.ModuleList(double_conv(i, o) for i, o in enc)
        # Decoder stage k upsamples to the size of encoder block 4-k and
        # concatenates its output; skip widths are the encoder outputs.
        ups = [(8 * b, 8 * b), (8 * b, 4 * b), (4 * b, 2 * b), (2 * b, b), (b, b)]
        skips = [8 * b, 8 * b, 4 * b, 2 * b, b]
        self.ups = nn.ModuleList(nn.Sequential(upsample2(), *conv_bn_relu(i, o)) for i, o in ups)
        self.decs = nn.ModuleList(double_conv(o + s, o) for (_, o), s in zip(ups, skips))
        self.out = conv3(b, out_ch)

    def forward(self, x):
        feats = []
        for k, block in enumerate(self.enc):
            if k > 0:
                x = pool2(x)
            x = block(x)
            feats.append(x)
        for k, (up, dec) in enumerate(zip(self.ups, self.decs)):
            x = dec(torch.cat((up(x), feats[len(feats) - 2 - k]), dim=1))
        return self.out(x)


class DRAEM(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.r = DRAEMRecon(width)
        self.d = DRAEMDisc(width)

    def forward(self, image):
        rec = self.r(image)
        return rec, self.d(torch.cat((rec, image), dim=1))


class Jigsaw(nn.Module):
    """Jigsaw-VAD's WideBranchNet at a width multiplier."""

    def __init__(self, width, frames, size):
        super().__init__()
        c32, c64, hidden = (scaled(c, width) for c in (32, 64, 512))

        def conv3d(i, o):
            return [nn.Conv3d(i, o, kernel_size=3, padding=1, bias=False), nn.InstanceNorm3d(o), nn.ReLU()]

        pool = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))
        self.model = nn.Sequential(
            *conv3d(3, c32), *conv3d(c32, c32), pool,
            *conv3d(c32, c64), *conv3d(c64, c64), pool,
            *conv3d(c64, c64), *conv3d(c64, c64),
            nn.MaxPool3d(kernel_size=(frames, 2, 2), stride=(1, 2, 2)),
        )
        self.conv2d = nn.Sequential(nn.Conv2d(c64, c64, kernel_size=3, padding=1), nn.InstanceNorm2d(c64), nn.ReLU(), nn.Dropout2d(p=0.3))
        feat = c64 * (size // 16) ** 2
        self.classifier_1 = nn.Sequential(nn.Linear(feat, hidden), nn.ReLU(), nn.Linear(hidden, frames * frames))
        self.classifier_2 = nn.Sequential(nn.Linear(feat, hidden), nn.ReLU(), nn.Linear(hidden, 81))

    def forward(self, x):
        out = self.model(x).squeeze(2)
        out = nn.functional.max_pool2d(self.conv2d(out), 2)
        out = out.flatten(1)
        return self.classifier_1(out), self.classifier_2(out)


class PKGNet(nn.Module):
    """PKG-Net's student (Student_1 for k=1, Student_2 for k=2) at a width multiplier."""

    def __init__(self, width, k, in_ch=12, out_ch=3):
        super().__init__()
        self.k = k
        c64, c128, c256, c512 = (scaled(c, width) for c in (64, 128, 256, 512))

        def down(i, o):
            if k == 1:
                return nn.Sequential(nn.Conv2d(i, o, kernel_size=3, stride=2, padding=1), double_conv(o, o))
            return nn.Sequential(nn.MaxPool2d(2), double_conv(i, o))

        def up(i, o, skip):
            deconv = nn.ConvTranspose2d(i, o, kernel_size=3, stride=2, padding=1, output_padding=1)
            return nn.ModuleDict({"deconv": deconv, "conv": double_conv(i if skip else o, o)})

        self.inc = double_conv(in_ch, c64)
        self.down1, self.down2, self.down3 = down(c64, c128), down(c128, c256), down(c256, c512)
        self.up1 = up(c512, c256, k == 1)
        self.up2, self.up3 = up(c256, c128, True), up(c128, c64, True)
        self.out = nn.Conv2d(c64, out_ch, kernel_size=1)

    @staticmethod
    def _up(block, x, skip=None):
        x = block["deconv"](x)
        if skip is not None:
            x = torch.cat((skip, x), dim=1)
        return block["conv"](x)

    def forward(self, x):
        f32 = self.inc(x)
        f16 = self.down1(f32)
        f8 = self.down2(f16)
        f4 = self.down3(f8)
        d8 = self._up(self.up1, f4, f8 if self.k == 1 else None)
        d = self._up(self.up3, self._up(self.up2, d8, f16), f32)
        out = self.out(d)
        return (out, f4) if self.k == 1 else (out, f4, d8)


def pkgnet_gradient_loss(a, b, alpha=3):
    """Channel-summed left/upper differences (zero outside), |.|^alpha, mean over N*H*W."""
    d = (a - b).sum(dim=1, keepdim=True)
    dx = d - nn.functional.pad(d, (1, 0, 0, 0))[..., :, :-1]
    dy = d - nn.functional.pad(d, (0, 0, 1, 0))[..., :-1, :]
    return torch.mean(dx.abs() ** alpha + dy.abs() ** alpha)


def build(model, width, size, batch, gen, frames=7, k=1, device="cpu"):
    """Return (net, inputs, loss_fn) for one benchmark configuration, on device.

    The data are drawn on the CPU from gen (the same values on every device)
    and moved."""
    net, inputs, loss_fn = _build(model, width, size, batch, gen, frames, k, torch.device(device))
    return net.to(device), inputs.to(device), loss_fn


def _build(model, width, size, batch, gen, frames, k, dev):
    if model == "mnad":
        net = MNADPred(width)
        frames = torch.rand(batch, 12, size, size, generator=gen) * 2 - 1
        target = (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(dev)

        def loss_fn(out):
            return nn.functional.mse_loss(out, target)

        return net, frames, loss_fn
    if model == "draem":
        net = DRAEM(width)
        image = torch.rand(batch, 3, size, size, generator=gen)
        mask = torch.randint(0, 2, (batch, size, size), generator=gen).to(dev)

        image_dev = image.to(dev)

        def loss_fn(out):
            rec, logits = out
            return nn.functional.mse_loss(rec, image_dev) + nn.functional.cross_entropy(logits, mask)

        return net, image, loss_fn
    if model == "jigsaw":
        net = Jigsaw(width, frames, size)
        cubes = torch.rand(batch, 3, frames, size, size, generator=gen)
        temporal = torch.arange(batch) % 2 == 0
        tlabels = torch.stack([torch.randperm(frames, generator=gen) for _ in range(batch)])[temporal].view(-1).to(dev)
        slabels = torch.stack([torch.randperm(9, generator=gen) for _ in range(batch)])[~temporal].view(-1).to(dev)
        temporal = temporal.to(dev)

        def loss_fn(out):
            tl, sl = out
            return (nn.functional.cross_entropy(tl[temporal].view(-1, frames), tlabels)
                    + nn.functional.cross_entropy(sl[~temporal].view(-1, 9), slabels))

        return net, cubes, loss_fn
    if model == "pkgnet":
        net = PKGNet(width, k)
        clip = torch.rand(batch, 15, size, size, generator=gen)
        inputs, target = clip[:, :12].contiguous(), clip[:, 12:].contiguous().to(dev)
        c256, c512 = scaled(256, width), scaled(512, width)
        teacher = [torch.rand(batch, c512, size // 8, size // 8, generator=gen)]
        if k == 2:
            teacher.append(torch.rand(batch, c256, size // 4, size // 4, generator=gen))
        teacher = [t.to(dev) for t in teacher]

        def loss_fn(out):
            pred, feats = out[0], out[1:]
            fea = sum(torch.mean(1 - nn.functional.cosine_similarity(f, t)) for f, t in zip(feats, teacher)) / len(feats)
            return (0.8 * nn.functional.mse_loss(pred, target) + 0.1 * pkgnet_gradient_loss(pred, target)
                    + 0.2 * fea)

        return net, inputs, loss_fn
    raise ValueError(f"unknown model {model!r}: want mnad, draem, jigsaw or pkgnet")


def median_ms(fn, steps, warmup, sync=lambda: None):
    """Median and minimum of the timed calls, in ms; sync waits for the device."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=("mnad", "draem", "jigsaw", "pkgnet"), required=True)
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--frames", type=int, default=7, help="jigsaw: frames per cube")
    ap.add_argument("--k", type=int, choices=(1, 2), default=1, help="pkgnet: variant (1 or 2)")
    ap.add_argument("--pkgnet-bn", choices=("eval", "train"), default="eval",
                    help="pkgnet: BatchNorm mode while training (eval, as the official train.py)")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                    help="cuda: fp32 on GPU 0 with cudnn.benchmark on (TF32 off, as fmam's fp32)")
    args = ap.parse_args(argv)
    if args.width <= 0 or args.size <= 0 or args.batch <= 0 or args.steps <= 0 or args.threads <= 0:
        ap.error("--width, --size, --batch, --steps and --threads must be positive")
    # MNAD and PKG-Net halve 3 times, DRAEM's discriminator 5 times, Jigsaw 4 times; other sizes would
    # break the skip concatenations.
    div = {"mnad": 8, "draem": 32, "jigsaw": 16, "pkgnet": 8}[args.model]
    if args.size % div:
        ap.error(f"--size {args.size}: {args.model} needs a multiple of {div}")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    sync = lambda: None  # noqa: E731
    if args.device == "cuda":
        if not torch.cuda.is_available():
            print("bench_torch: --device cuda but torch.cuda.is_available() is False", file=sys.stderr)
            return 1
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        sync = torch.cuda.synchronize
    gen = torch.Generator().manual_seed(args.seed)
    net, inputs, loss_fn = build(args.model, args.width, args.size, args.batch, gen, args.frames, args.k, args.device)
    params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(inputs))
        loss.backward()
        opt.step()

    net.train()
    if args.model == "pkgnet" and args.pkgnet_bn == "eval":
        net.eval()  # the official train.py trains its student in eval mode
    train_ms, train_min = median_ms(train_step, args.steps, args.warmup, sync)

    def infer():
        with torch.no_grad():
            net(inputs)

    net.eval()
    infer_ms, infer_min = median_ms(infer, args.steps, args.warmup, sync)

    result = {
        "model": args.model,
        "width": args.width,
        "size": args.size,
        "batch": args.batch,
        "threads": args.threads,
        "device": args.device,
        "train_step_ms": round(train_ms, 3),
        "infer_batch_ms": round(infer_ms, 3),
        "train_step_min_ms": round(train_min, 3),
        "infer_batch_min_ms": round(infer_min, 3),
        "params": params,
    }
    if args.model == "pkgnet":
        result["k"] = args.k
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
