// Writes A1111-format hypernetwork .pt files (the pickle torch.save makes of A1111's dict: integer widths → a pair
// of MLP state dicts, plus the settings), for the demo file and tests; the real files cannot be downloaded here.
import { PickleWriter, writeTorchZip } from '../checkpoint/test-torch-file.ts';
import type { HypernetworkActivation } from './hypernetwork-file.ts';

export interface DemoHypernetworkOptions {
  /** Context widths with an MLP pair (e.g. [320, 640, 768, 1280] for SD1.5). */
  widths: number[];
  /** A1111's layer_structure: hidden sizes as multiples of the width, first and last 1. */
  layerStructure: number[];
  activation: HypernetworkActivation;
  layerNorm?: boolean;
  activateOutput?: boolean;
  seed: number;
  /** Scales every weight (small values keep a demo close to its base model). */
  gain?: number;
}

function values(n: number, seed: number, bound: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((Math.abs(Math.sin(seed * 7919 + i * 12.9898) * 43758.5453) % 1) * 2 - 1) * bound);
}

/** The layers of one MLP in A1111's Sequential numbering: Linear, [activation], [LayerNorm], … */
export function demoMlpTensors(width: number, options: DemoHypernetworkOptions, seed: number): Array<[string, Float32Array, number[]]> {
  const out: Array<[string, Float32Array, number[]]> = [];
  const sizes = options.layerStructure.map((m) => Math.round(m * width));
  let index = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [cin, cout] = [sizes[l], sizes[l + 1]];
    const bound = (options.gain ?? 1) / Math.sqrt(cin);
    out.push([`linear.${index}.weight`, values(cin * cout, seed + l, bound), [cout, cin]]);
    out.push([`linear.${index}.bias`, values(cout, seed + l + 0.5, bound), [cout]]);
    index++;
    const last = l + 2 === sizes.length;
    if (options.activation !== 'linear' && (!last || options.activateOutput)) index++; // the activation module
    if (options.layerNorm) {
      out.push([`linear.${index}.weight`, values(cout, seed + l + 0.25, 0.1).map((v) => 1 + v), [cout]]);
      out.push([`linear.${index}.bias`, values(cout, seed + l + 0.75, 0.1), [cout]]);
      index++;
    }
  }
  return out;
}

/** Writes the file; returns the tensors by the names the reader gives them (`<width>.<0|1>.<key>`). */
export function writeDemoHypernetwork(path: string, options: DemoHypernetworkOptions): Map<string, Float32Array> {
  const p = new PickleWriter().op(0x80, 0x02).op(0x7d, 0x28); // {  MARK
  const storages: Uint8Array[] = [];
  const named = new Map<string, Float32Array>();
  options.widths.forEach((width, w) => {
    p.int(width).op(0x28); // key, MARK (tuple of two state dicts)
    for (const side of [0, 1]) {
      p.global('collections', 'OrderedDict').op(0x29, 0x52, 0x28);
      for (const [name, data, shape] of demoMlpTensors(width, options, options.seed * 100 + w * 10 + side)) {
        named.set(`${width}.${side}.${name}`, data);
        p.str(name);
        const key = String(storages.length);
        storages.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
        p.global('torch._utils', '_rebuild_tensor_v2').op(0x28);
        p.op(0x28).str('storage').global('torch', 'FloatStorage').str(key).str('cpu').int(data.length).op(0x74, 0x51);
        p.int(0).tuple(shape).tuple(stride).op(0x89);
        p.global('collections', 'OrderedDict').op(0x29, 0x52);
        p.op(0x74, 0x52);
      }
      p.op(0x75); // SETITEMS of the OrderedDict
    }
    p.op(0x74); // TUPLE
  });
  const flag = (b: boolean) => p.op(b ? 0x88 : 0x89);
  p.str('activation_func').str(options.activation);
  p.str('is_layer_norm'); flag(options.layerNorm ?? false);
  p.str('activate_output'); flag(options.activateOutput ?? false);
  p.str('use_dropout'); flag(false);
  p.str('name').str('invgraph-demo');
  p.op(0x75, 0x2e); // SETITEMS, STOP
  writeTorchZip(path, p.bytes(), storages);
  return named;
}
