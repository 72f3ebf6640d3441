#!/usr/bin/python3
"""tests/runner/export_superres.py DEST — exports the super-resolution CNN of PyTorch's ONNX export
tutorial (super_resolution_with_onnxruntime) to DEST/superres_op11.onnx and DEST/superres_op17.onnx.

Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-onnx 1.12). The weights are fixed:
torch.manual_seed(0), then the tutorial's orthogonal initialization. Input: 'input' 1x1x224x224,
output: 'output' 1x1x672x672 (Conv 5x5 1->64, ReLU, Conv 3x3 64->64, ReLU, Conv 3x3 64->32, ReLU,
Conv 3x3 32->9, PixelShuffle(3), which torch 1.13 exports as DepthToSpace mode CRD). Weights are
initializers; the export is byte-for-byte reproducible."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.init as init


class SuperResolutionNet(nn.Module):
    def __init__(self, upscale_factor):
        super().__init__()
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 64, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(64, 64, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(64, 32, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(32, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)
        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        x = self.pixel_shuffle(self.conv4(x))
        return x

    def _initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv2.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv3.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv4.weight)


def main():
    if len(sys.argv) != 2:
        print("usage: export_superres.py DEST", file=sys.stderr)
        return 2
    dest = sys.argv[1]
    os.makedirs(dest, exist_ok=True)
    torch.manual_seed(0)
    model = SuperResolutionNet(upscale_factor=3)
    model.eval()
    x = torch.randn(1, 1, 224, 224)
    for opset in (11, 17):
        path = os.path.join(dest, f"superres_op{opset}.onnx")
        tmp = path + ".tmp"
        torch.onnx.export(model, x, tmp, export_params=True, opset_version=opset,
                          do_constant_folding=True, input_names=["input"], output_names=["output"])
        import onnx
        m = onnx.load(tmp)
        onnx.checker.check_model(m)
        os.replace(tmp, path)
        ops = {}
        for n in m.graph.node:
            ops[n.op_type] = ops.get(n.op_type, 0) + 1
        print(f"{path}: opset {m.opset_import[0].version}, ops {ops}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
