// CLIPTextEncode and CLIPSetLastLayer on the sd15-tiny text encoder: shapes, long prompts, weights, clip skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIPTextEncode, CLIPSetLastLayer } from './conditioning.ts';
import { fixtureModels, withSd } from './sd-test-fixture.ts';
import type { Conditioning, SdClip } from '../engine/sd/index.ts';

async function encode(clip: SdClip, text: string, t: Parameters<Parameters<typeof withSd>[0]>[0]): Promise<Conditioning> {
  return (await CLIPTextEncode.run({ text, clip }, t.ctx)).outputs[0] as Conditioning;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('the nodes have ComfyUI\'s classes, inputs and defaults', () => {
  assert.deepEqual(Object.keys(CLIPTextEncode.inputs.required), ['text', 'clip']);
  assert.deepEqual(CLIPTextEncode.outputs.map((o) => o.type), ['CONDITIONING']);
  assert.deepEqual(CLIPSetLastLayer.inputs.required.stop_at_clip_layer, { kind: 'INT', default: -1, min: -24, max: -1, step: 1 });
});

test('CLIPTextEncode: one entry [1, 77, width]; a prompt over 75 tokens gives 154 rows; weights change the embedding', () => withSd(async (t) => {
  const { clip } = await fixtureModels();
  const width = clip.checkpoint.config.clip.hiddenSize;
  const short = await encode(clip, 'a photo of a cat', t);
  assert.equal(short.length, 1);
  assert.deepEqual(short[0].embeds.dims, [1, 77, width]);
  assert.ok(short[0].embeds.data.every(Number.isFinite));
  const long = await encode(clip, Array.from({ length: 90 }, () => 'cat').join(' '), t);
  assert.deepEqual(long[0].embeds.dims, [1, 154, width]);
  const weighted = await encode(clip, 'a photo of a (cat:1.5)', t);
  assert.ok(maxDiff(weighted[0].embeds.data, short[0].embeds.data) > 1e-4, 'a (word:1.5) weight must change the embedding');
  const again = await encode(clip, 'a photo of a cat', t);
  assert.deepEqual(again[0].embeds.data, short[0].embeds.data);
}));

test('CLIPSetLastLayer: -2 gives a different embedding of the same shape; deeper than the encoder is an error', () => withSd(async (t) => {
  const { clip } = await fixtureModels();
  const layers = clip.checkpoint.config.clip.layers;
  const skipped = (await CLIPSetLastLayer.run({ clip, stop_at_clip_layer: -2 }, t.ctx)).outputs[0] as SdClip;
  assert.equal(skipped.stopAtLayer, -2);
  assert.equal(clip.stopAtLayer, -1, 'the input CLIP is not changed');
  const last = await encode(clip, 'a photo of a cat', t);
  const penultimate = await encode(skipped, 'a photo of a cat', t);
  assert.deepEqual(penultimate[0].embeds.dims, last[0].embeds.dims);
  assert.ok(maxDiff(penultimate[0].embeds.data, last[0].embeds.data) > 1e-4);
  assert.throws(() => CLIPSetLastLayer.run({ clip, stop_at_clip_layer: -(layers + 1) }, t.ctx), new RegExp(`deeper than this text encoder's ${layers} layers`));
}));
