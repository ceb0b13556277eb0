"""Export a trained model to ONNX: ``python tools/export_onnx.py CONFIG CKPT OUT.onnx``.

The graph takes RGB images (B, 3, H, W), values 0-255, B dynamic, H x W the config's test size,
with the config's normalisation (and BGR handling) inside, and returns the test features (B, D).
The export is checked with onnxruntime against PyTorch on random images (max abs difference
printed). Needs ``pip install -e '.[deploy]'`` (onnx, onnxscript, onnxruntime).
TensorRT: ``trtexec --onnx=OUT.onnx --saveEngine=OUT.engine --fp16
--minShapes=images:1x3xHxW --optShapes=images:32x3xHxW --maxShapes=images:128x3xHxW``.
"""
import argparse

from reidengine.apis import init_model
from reidengine.apis.export import check_onnx, export_onnx, require_deploy


def parse_args():
    parser = argparse.ArgumentParser(description='Export a ReID model to ONNX')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='output .onnx file')
    parser.add_argument('--input-dtype', choices=['float32', 'uint8'], default='float32')
    parser.add_argument('--opset', type=int, default=18)
    parser.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'),
                        help="input size (default: the config's test size)")
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='fail when onnxruntime and PyTorch differ by more')
    return parser.parse_args()


def main():
    args = parse_args()
    require_deploy()
    model = init_model(args.config, args.checkpoint)
    export_onnx(model, args.out, input_size=args.size, input_dtype=args.input_dtype,
                opset=args.opset)
    diff = check_onnx(model, args.out)
    print(f'{args.out}: onnxruntime vs PyTorch max abs difference {diff:.3g}')
    if diff > args.tolerance:
        raise SystemExit(f'the ONNX model differs from PyTorch by {diff:.3g} > {args.tolerance}')


if __name__ == '__main__':
    main()
