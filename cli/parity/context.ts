// What every parity section gets: the fixture folder, the log of recomputed tensors, and the model
// opened through the same code path users take (SdRuntime + CheckpointLoaderSimple's tokenizer rule).
import type { SdRuntime, Checkpoint, ClipTokenizer } from '../../engine/sd/index.ts';
import type { FixtureDir } from './fixture.ts';
import type { ParityLog } from './compare.ts';

export interface ParityContext {
  fixture: FixtureDir;
  log: ParityLog;
  runtime: SdRuntime;
  checkpoint: Checkpoint;
  tokenizer: ClipTokenizer;
}

export interface FixtureConfig {
  inputs: { prompts: string[]; negative_prompt: string; pipeline_steps: number; guidance_scale: number; inversion_prompt: string };
  eaa?: { sigma: number; reference_caption: string };
}

export function idsTensor(rows: number[][]): { dims: number[]; ints: BigInt64Array } {
  return { dims: [rows.length, rows[0].length], ints: BigInt64Array.from(rows.flat(), (v) => BigInt(v)) };
}
