// The generic model patch: patches compose in order (graph parts merged, one per kind; feeds merged; every
// conditioning check run), and the sampler's UNet applies a patch it knows nothing about — its graph part reaches
// the session request, its feeds every call, its refusal comes before any graph is built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelCall } from '../sampling/index.ts';
import type { ModelSession } from '../onnx/index.ts';
import { LORA_STRENGTHS_INPUT } from '../onnx/index.ts';
import { openCheckpoint } from './checkpoint/checkpoint.ts';
import type { Checkpoint } from './checkpoint/checkpoint.ts';
import { combinePatches, ModelPatchError } from './model-patch.ts';
import type { ModelPatch, PreparedPatch } from './model-patch.ts';
import { modelPatches, prepareModelPatch } from './model-patches.ts';
import { prepareGuidedUnet } from './guided-unet.ts';
import { createEpsModel } from './eps-model.ts';
import type { SdRuntime } from './runtime.ts';
import type { UnetVariant } from './unet/unet-variant.ts';
import type { Feeds } from './unet/unet-io.ts';
import type { Conditioning, SdModel } from './wire-types.ts';
import { FIXTURE_CHECKPOINT } from './test-fixture.ts';

const feed = (v: number) => ({ dims: [1], data: Float32Array.of(v) });
const call: ModelCall = { sample: new Float32Array(2 * 4 * 4), dims: [2, 4, 2, 2], guidance: 'uncond+cond', timestep: 500, sigma: 1, step: { index: 0, total: 1 } };
const conds = { cond: [{ entry: 0 }], uncond: [{ entry: 0 }] } as unknown as Parameters<NonNullable<PreparedPatch['checkConds']>>[0];

test('combinePatches: graph parts merged in order, one per kind; feeds merged; every check runs', () => {
  const checked: string[] = [];
  const a: PreparedPatch = { variant: { recordFeatures: true }, extraFeeds: () => ({ a: feed(1) }), checkConds: () => { checked.push('a'); } };
  const b: PreparedPatch = { variant: { eaa: {} }, extraFeeds: (c, rows) => ({ b: feed(rows + c.timestep) }), checkConds: () => { checked.push('b'); } };
  const both = combinePatches([a, { variant: {} }, b]);
  assert.deepEqual(both.variant, { recordFeatures: true, eaa: {} });
  assert.deepEqual(Object.keys(both.variant), ['recordFeatures', 'eaa'], 'the order the patches came in');
  assert.deepEqual(both.extraFeeds!(call, 2), { a: feed(1), b: feed(502) });
  both.checkConds!(conds);
  assert.deepEqual(checked, ['a', 'b']);
  assert.throws(() => combinePatches([b, { variant: { eaa: { masked: true } } }]), (e: Error) => e instanceof ModelPatchError && e.message.includes("'eaa'"));
  assert.equal(combinePatches([{ variant: {} }]).extraFeeds, undefined, 'no feeds without a feeding patch');
});

/** A runtime that records the variant it is asked for and a session that records its feeds (no graph is built). */
function recordingRuntime(): { runtime: SdRuntime; variants: UnetVariant[]; fed: Feeds[] } {
  const variants: UnetVariant[] = [];
  const fed: Feeds[] = [];
  const session = {
    inputNames: [], outputNames: ['out'],
    run: async (feeds: Feeds) => { fed.push(feeds); return { out: { dims: feeds.sample.dims, data: new Float32Array(feeds.sample.data.length) } }; },
  } as unknown as ModelSession;
  const runtime = { unetSession: async (_c: Checkpoint, variant: UnetVariant) => { variants.push(variant); return session; } } as unknown as SdRuntime;
  return { runtime, variants, fed };
}

const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
const text: Conditioning = [{ embeds: { dims: [1, 77, 32], data: new Float32Array(77 * 32) } }];

test('the sampler applies a patch of a kind it does not know: graph part to the session, feeds to every call', async () => {
  const seen: unknown[] = [];
  const unknown: ModelPatch = {
    kind: 'test-only',
    prepare: (run) => {
      seen.push(run.checkpoint);
      return { variant: { recordFeatures: true }, extraFeeds: (c, rows) => ({ 'test.rows': feed(rows), 'test.sigma': feed(c.sigma) }) };
    },
  };
  const model: SdModel = { checkpoint, patches: [unknown] };
  const { runtime, variants, fed } = recordingRuntime();
  const unet = await prepareGuidedUnet(runtime, { model, positive: text, negative: text, latentDims: [1, 4, 2, 2] });
  assert.deepEqual(variants, [{ recordFeatures: true }]);
  assert.deepEqual(seen, [checkpoint], 'prepared once per run, for the sampled checkpoint');
  await createEpsModel(unet)(call);
  assert.deepEqual(fed[0]['test.rows'], feed(2));
  assert.deepEqual(fed[0]['test.sigma'], feed(1));
  assert.deepEqual(Object.keys(fed[0]).slice(0, 3), ['sample', 'timestep', 'encoder_hidden_states']);
});

test('a patch refuses conditionings before any graph is built', async () => {
  const refusing: ModelPatch = { kind: 'test-only', prepare: () => ({ variant: {}, checkConds: () => { throw new Error('not with these conditionings'); } }) };
  const { runtime, variants } = recordingRuntime();
  await assert.rejects(prepareGuidedUnet(runtime, { model: { checkpoint, patches: [refusing] }, positive: text, negative: text, latentDims: [1, 4, 2, 2] }), /not with these conditionings/);
  assert.deepEqual(variants, [], 'no session asked for');
});

test('the LoRA stack is the first patch: it feeds the strengths, one per stacked LoRA, and adds no graph part', () => {
  const lora = { path: 'x.safetensors', fingerprint: 'f', unet: new Map(), textEncoder: new Map(), unmatched: [] };
  const withLora: Checkpoint = { ...checkpoint, loras: { base: checkpoint, unet: [{ lora, strength: 0.5 }, { lora, strength: -2 }], textEncoder: [] } };
  const other: ModelPatch = { kind: 'test-only', prepare: () => ({ variant: {} }) };
  assert.deepEqual(modelPatches({ checkpoint: withLora, patches: [other] }).map((p) => p.kind), ['lora', 'test-only']);
  assert.deepEqual(modelPatches({ checkpoint, patches: [other] }).map((p) => p.kind), ['test-only'], 'no LoRA, no LoRA patch');
  const prepared = prepareModelPatch({ checkpoint: withLora });
  assert.deepEqual(prepared.variant, {});
  assert.deepEqual(prepared.extraFeeds!(call, 2), { [LORA_STRENGTHS_INPUT]: { dims: [2], data: Float32Array.of(0.5, -2) } });
});
