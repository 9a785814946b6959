// Recomputes a golden-fixture folder (layout of test/fixtures/sd15-tiny) with the project's own code —
// checkpoint loader, tokenizer, graphs, samplers — and compares every tensor. Used by `npm run parity`
// and by the parity tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryBudgetFromEnv } from '../../nodes/services.ts';
import { SdRuntime, loadTokenizer } from '../../engine/sd/index.ts';
import { writeSafetensors } from '../../engine/onnx/index.ts';
import type { TensorToWrite } from '../../engine/onnx/index.ts';
import { FixtureDir } from './fixture.ts';
import { ParityLog } from './compare.ts';
import type { ParityContext } from './context.ts';
import { tokenizerSection, textEncoderSection } from './text-sections.ts';
import { vaeSection, unetSection } from './network-sections.ts';
import { pipelineSection } from './pipeline-section.ts';
import { controlnetSection } from './controlnet-section.ts';
import { eaaSection } from './eaa-section.ts';

export const SECTIONS = {
  tokenizer: tokenizerSection,
  text_encoder: textEncoderSection,
  vae: vaeSection,
  unet: unetSection,
  unet_controlnet: controlnetSection,
  pipeline: pipelineSection,
  eaa: eaaSection,
} as const;
export type SectionName = keyof typeof SECTIONS;

export interface ParityOptions {
  /** Built graphs go here; a fresh temp folder (removed afterwards) when absent. */
  cacheDir?: string;
  sections?: SectionName[];
  device?: 'cpu' | 'auto' | 'cuda' | 'webgpu';
}

export async function runParity(dir: string, options: ParityOptions = {}): Promise<ParityLog> {
  const fixture = new FixtureDir(dir);
  const cacheDir = options.cacheDir ?? mkdtempSync(join(tmpdir(), 'invgraph-parity-'));
  // The budget keeps a full-size fixture's many UNet variants from piling up (one or two held at a time).
  const runtime = new SdRuntime({ cacheDir, device: options.device ?? 'cpu', memoryBudgetBytes: memoryBudgetFromEnv() });
  const log = new ParityLog();
  try {
    const ctx: ParityContext = {
      fixture,
      log,
      runtime,
      checkpoint: runtime.checkpoint(fixture.path('checkpoint.safetensors')),
      tokenizer: await loadTokenizer(),
    };
    for (const name of options.sections ?? (Object.keys(SECTIONS) as SectionName[])) await SECTIONS[name](ctx);
  } finally {
    await runtime.release();
    if (!options.cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  }
  return log;
}

export function writeParityOutput(path: string, log: ParityLog): void {
  const tensors: Record<string, TensorToWrite> = {};
  for (const [key, computed] of log.computed) {
    tensors[key] = computed.kind === 'float'
      ? { dtype: 'F32', shape: computed.tensor.dims, data: computed.tensor.data }
      : { dtype: 'I64', shape: computed.tensor.dims, data: computed.tensor.ints };
  }
  writeSafetensors(path, tensors, { producer: 'invgraph parity' });
}
