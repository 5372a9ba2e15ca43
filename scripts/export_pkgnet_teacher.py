#!/usr/bin/env python3
"""Export PKG-Net's prior-knowledge teacher to ONNX, for users with torchvision.

PKG-Net (Deng, Chen & Deng, MMAsia 2023) distils an ImageNet backbone into its
student: torchvision's ResNet50 for Ped2 and Avenue, ResNeXt50_32x4d for
ShanghaiTech, with the weights files the official code downloads
(resnet50-0676ba61.pth and resnext50_32x4d-7cdf4587.pth, torchvision's
IMAGENET1K_V1). On a 32x32 patch:

  layer1  conv1, bn1, relu, maxpool, layer1 -> [N, 256, 8, 8]   (block 2, k=2)
  layer2  layer2                            -> [N, 512, 4, 4]   (block 1)

The graph takes "image" [N, 3, 32, 32] (batch axis dynamic) in [0, 1] with no
ImageNet mean/std normalisation, as the official code feeds it, and outputs
the tensors named "layer1" and "layer2" (fmam's internal/baseline/pkgnet pairs
block 1 of the student with layer2 and block 2 with layer1).

Colour order: the official cubes are OpenCV BGR, so the official teacher sees
BGR although its weights were trained on RGB. fmam's cubes are RGB; with
--channels bgr (the default) the exported graph reverses the channels first,
so that fmam's RGB patches reach the backbone as the official code's did;
--channels rgb feeds them as given.

  python3 scripts/export_pkgnet_teacher.py --backbone resnet50 \\
      --out models/pkgnet-resnet50.onnx
  python3 scripts/export_pkgnet_teacher.py --backbone resnext50_32x4d \\
      --weights teacher/resnext50_32x4d-7cdf4587.pth --out models/pkgnet-resnext50.onnx

Not needed by fmam's tests; fmam's own presets use the MobileNetV2 in
../shared/models with a 1x1 adapter instead.
"""

import argparse
import sys

import torch
from torch import nn


class Teacher(nn.Module):
    """The backbone cut after layer1 and after layer2, in eval mode."""

    def __init__(self, backbone, reverse_channels):
        super().__init__()
        self.reverse_channels = reverse_channels
        self.stem = nn.Sequential(backbone.conv1, backbone.bn1, backbone.relu, backbone.maxpool, backbone.layer1)
        self.layer2 = backbone.layer2

    def forward(self, image):
        if self.reverse_channels:
            image = torch.flip(image, dims=[1])
        f8 = self.stem(image)
        return f8, self.layer2(f8)


def load_backbone(name, weights):
    import torchvision

    ctor = getattr(torchvision.models, name)
    if weights:
        net = ctor()
        net.load_state_dict(torch.load(weights, map_location="cpu"))
        return net
    try:
        return ctor(weights="IMAGENET1K_V1")  # torchvision >= 0.13
    except TypeError:
        return ctor(pretrained=True)  # older torchvision: the same V1 weights


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backbone", choices=("resnet50", "resnext50_32x4d"), default="resnet50",
                    help="resnet50 (Ped2, Avenue) or resnext50_32x4d (ShanghaiTech)")
    ap.add_argument("--weights", help="a local state dict (.pth); default: torchvision's IMAGENET1K_V1 download")
    ap.add_argument("--channels", choices=("bgr", "rgb"), default="bgr",
                    help="colour order the backbone sees when fed fmam's RGB patches (bgr: as the official code)")
    ap.add_argument("--size", type=int, default=32, help="patch side (32 officially)")
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--out", required=True, help="ONNX file to write")
    args = ap.parse_args(argv)

    teacher = Teacher(load_backbone(args.backbone, args.weights), args.channels == "bgr").eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    x = torch.rand(2, 3, args.size, args.size)
    with torch.no_grad():
        f8, f4 = teacher(x)
    torch.onnx.export(teacher, x, args.out, opset_version=args.opset,
                      input_names=["image"], output_names=["layer1", "layer2"],
                      dynamic_axes={"image": {0: "n"}, "layer1": {0: "n"}, "layer2": {0: "n"}})
    print(f"wrote {args.out}: layer1 {tuple(f8.shape[1:])}, layer2 {tuple(f4.shape[1:])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
