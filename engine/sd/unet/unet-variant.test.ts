// The UNet graph patches composed (unet-variant.ts): every kind of a variant adds exactly the inputs and outputs
// its *-io.ts names, in the listed order, and the graph cache key holds each patch's files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openCheckpoint } from '../checkpoint/checkpoint.ts';
import { buildUnetGraph } from './unet.ts';
import { UNET_GRAPH_PATCHES, variantFingerprints } from './unet-variant.ts';
import { transformerBlocks } from './unet-blocks.ts';
import { UNET_INPUT, UNET_OUTPUT, recordedFeature } from './unet-io.ts';
import { EAA_INPUT } from '../inv-adapter/eaa-io.ts';
import { CONTROLNET_INPUT } from '../controlnet/controlnet-io.ts';
import { FIXTURE_CHECKPOINT, FIXTURE_DIR } from '../test-fixture.ts';

const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
const blocks = transformerBlocks(checkpoint.config.unet);
const names = (list: Array<{ name: string }>) => list.map((v) => v.name);

test('graph patch kinds have distinct names (each is one UnetVariant field)', () => {
  const kinds = UNET_GRAPH_PATCHES.map((k) => k.name);
  assert.deepEqual(kinds, ['recordFeatures', 'eaa', 'controlnet', 'gligen', 'hypernetwork']);
  assert.equal(new Set(kinds).size, kinds.length);
});

test('three patches in one graph: each adds the inputs and outputs its io module names', () => {
  const graph = buildUnetGraph(checkpoint, { recordFeatures: true, eaa: { masked: true }, controlnet: { residuals: 'inputs' } }).toModelData();
  const inputs = names(graph.inputs);
  const base = [UNET_INPUT.sample, UNET_INPUT.timestep, UNET_INPUT.encoderHiddenStates];
  // Inputs the patches declare when built (before the UNet's own nodes), in UNET_GRAPH_PATCHES order.
  assert.deepEqual(inputs.slice(0, 5), [...base, EAA_INPUT.sigmaSelf, EAA_INPUT.blockWeights], 'no sigma_cross without an adapter file');
  const levels = [...new Set(blocks.map((b) => b.level))];
  const expected = [
    ...base, EAA_INPUT.sigmaSelf, EAA_INPUT.blockWeights,
    ...blocks.map((b) => EAA_INPUT.features(b.name, 'self')),
    ...levels.map((l) => EAA_INPUT.mask(l)),
    ...Array.from({ length: 12 }, (_, k) => CONTROLNET_INPUT.downResidual(k)), CONTROLNET_INPUT.midResidual,
  ];
  assert.deepEqual([...inputs].sort(), [...expected].sort());
  assert.deepEqual(names(graph.outputs), [UNET_OUTPUT, ...blocks.flatMap((b) => [recordedFeature(b.name, 'self'), recordedFeature(b.name, 'cross')])]);
});

test('the cache key holds the files each patch reads, in patch order', () => {
  assert.deepEqual(variantFingerprints({ recordFeatures: true, eaa: {} }), [], 'no files');
  const withAdapter = variantFingerprints({ eaa: { adapterPath: `${FIXTURE_DIR}eaa_adapter.safetensors` }, controlnet: { residuals: 'fused', nets: [{ path: `${FIXTURE_DIR}controlnet.safetensors` }] } });
  assert.equal(withAdapter.length, 2);
  assert.match(withAdapter[1], /:heads=/, 'the ControlNet second');
});
