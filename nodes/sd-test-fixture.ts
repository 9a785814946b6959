// Shared by the SD node tests (loaders, conditioning, latent, sampling): one CPU runtime over the sd15-tiny
// fixture and a NodeContext that carries it.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { SdRuntime } from '../engine/sd/index.ts';
import type { SdModel, SdClip, SdVae } from '../engine/sd/index.ts';
import { loadTokenizer } from '../engine/sd/index.ts';
import { tempDir } from '../engine/onnx/test-helpers.ts';
import { createTestContext } from './test-context.ts';
import type { TestContext } from './test-context.ts';

export const FIXTURE = fileURLToPath(new URL('../test/fixtures/sd15-tiny/', import.meta.url));
export const FIXTURE_CHECKPOINT = join(FIXTURE, 'checkpoint.safetensors');

let shared: SdRuntime | undefined;
/** One runtime for the whole test file: graphs are built once. */
export function runtime(): SdRuntime {
  shared ??= new SdRuntime({ cacheDir: tempDir(), device: 'cpu', threads: 1 });
  return shared;
}

export async function fixtureModels(): Promise<{ model: SdModel; clip: SdClip; vae: SdVae }> {
  const checkpoint = runtime().checkpoint(FIXTURE_CHECKPOINT);
  return { model: { checkpoint }, clip: { checkpoint, tokenizer: await loadTokenizer(), stopAtLayer: -1 }, vae: { checkpoint } };
}

export async function withSd(body: (t: TestContext) => Promise<void>, classType = 'TestNode'): Promise<void> {
  const context = await createTestContext({ services: { sd: runtime() }, classType });
  try {
    await body(context);
  } finally {
    await context.dispose();
  }
}
