// Reads a golden-fixture folder laid out like test/fixtures/sd15-tiny (see its README.md): the
// .safetensors goldens, tokenizer.json and config.json. Missing files simply skip their section.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors } from '../../engine/onnx/index.ts';
import type { SafetensorsFile } from '../../engine/onnx/index.ts';
import type { Tensor } from '../../engine/tensor/index.ts';

export interface IntTensor {
  dims: readonly number[];
  ints: BigInt64Array;
}

export class FixtureDir {
  private readonly files = new Map<string, SafetensorsFile>();

  constructor(readonly dir: string) {
    if (!existsSync(join(dir, 'checkpoint.safetensors'))) {
      throw new Error(`${dir} is not a fixture folder: it has no checkpoint.safetensors (see test/fixtures/sd15-tiny/README.md)`);
    }
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  has(stem: string): boolean {
    return existsSync(this.path(`${stem}.safetensors`));
  }

  private file(stem: string): SafetensorsFile {
    let file = this.files.get(stem);
    if (!file) {
      file = openSafetensors(this.path(`${stem}.safetensors`));
      this.files.set(stem, file);
    }
    return file;
  }

  keys(stem: string): string[] {
    return [...this.file(stem).tensors.keys()];
  }

  tensor(stem: string, key: string): Tensor {
    const file = this.file(stem);
    const info = file.tensors.get(key);
    if (!info) throw new Error(`${stem}.safetensors has no tensor '${key}'`);
    return { dims: [...info.shape], data: file.read(key) };
  }

  ints(stem: string, key: string): IntTensor {
    const file = this.file(stem);
    const info = file.tensors.get(key);
    if (!info || info.dtype !== 'I64') throw new Error(`${stem}.safetensors has no int64 tensor '${key}'`);
    const bytes = file.readBytes(key);
    return { dims: [...info.shape], ints: new BigInt64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) };
  }

  json<T>(name: string): T {
    return JSON.parse(readFileSync(this.path(name), 'utf8')) as T;
  }

  hasFile(name: string): boolean {
    return existsSync(this.path(name));
  }
}

/** Row `index` of the leading axis of a tensor. */
export function row(tensor: Tensor, index: number): Tensor {
  const [, ...rest] = tensor.dims;
  const size = rest.reduce((a, b) => a * b, 1);
  return { dims: [1, ...rest], data: tensor.data.slice(index * size, (index + 1) * size) };
}

/** Stacks equally shaped tensors along a new leading axis. */
export function stack(tensors: Tensor[]): Tensor {
  const size = tensors[0].data.length;
  const data = new Float32Array(tensors.length * size);
  tensors.forEach((t, i) => data.set(t.data, i * size));
  return { dims: [tensors.length, ...tensors[0].dims], data };
}
