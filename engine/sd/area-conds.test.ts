// resolveConditionings against ComfyUI's process_conds: percentage areas, masks resized with "mask bounds",
// timestep ranges, and the same-area entries added to the other side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeMaskBatch } from '../image/index.ts';
import { percentToSigma } from '../sampling/index.ts';
import type { Tensor } from '../tensor/index.ts';
import { resolveConditionings } from './area-conds.ts';
import { createEpsModel, type GuidedUnet } from './eps-model.ts';
import type { ConditioningEntry } from './wire-types.ts';

const text = (value: number, tokens = 77): Tensor => ({ dims: [1, tokens, 2], data: new Float32Array(tokens * 2).fill(value) });
const dims = [1, 4, 16, 24];

test('percentage areas round against the latent (Python round, at least 1 cell); cells stay as given', () => {
  const positive: ConditioningEntry[] = [
    { embeds: text(1), area: { unit: 'fraction', height: 0.5, width: 0.01, y: 0.25, x: 0.5625 }, strength: 0.7 },
    { embeds: text(2), area: { unit: 'cells', height: 4, width: 5, y: 1, x: 2 } },
  ];
  const { conds } = resolveConditionings(positive, [{ embeds: text(0) }], dims);
  // 0.5625 · 24 = 13.5 → 14 (half to even); 0.01 · 24 = 0.24 → 0 → at least 1.
  assert.deepEqual(conds.cond[0], { area: { height: 8, width: 1, y: 4, x: 14 }, strength: 0.7 });
  assert.deepEqual(conds.cond[1].area, { height: 4, width: 5, y: 1, x: 2 });
});

test('each area gets a same-area entry on the other side with that side\'s smallest enclosing text', () => {
  const positive: ConditioningEntry[] = [{ embeds: text(1) }, { embeds: text(2), area: { unit: 'cells', height: 4, width: 4, y: 2, x: 2 }, strength: 0.5 }];
  const negative: ConditioningEntry[] = [{ embeds: text(9) }, { embeds: text(8), area: { unit: 'cells', height: 8, width: 8, y: 0, x: 0 } }, { embeds: text(7), area: { unit: 'cells', height: 16, width: 24, y: 0, x: 0 } }];
  const resolved = resolveConditionings(positive, negative, dims);
  // Negative: the 8×8 entry is the smallest enclosing one → a copy of the positive area entry with its text.
  assert.equal(resolved.negative.length, 4);
  assert.equal(resolved.negative[3].embeds, negative[1].embeds);
  assert.deepEqual(resolved.conds.uncond[3], { area: { height: 4, width: 4, y: 2, x: 2 }, strength: 0.5 });
  // Positive: the negative 8×8 and 16×24 areas get copies with the positive full-image text (no enclosing area).
  assert.equal(resolved.positive.length, 4);
  assert.deepEqual(resolved.conds.cond.slice(2).map((c) => c.area), [{ height: 8, width: 8, y: 0, x: 0 }, { height: 16, width: 24, y: 0, x: 0 }]);
  assert.ok(resolved.positive.slice(2).every((e) => e.embeds === positive[0].embeds));
});

test('masks are resized to the latent; "mask bounds" becomes the bounding box (at least 8×8); ranges become σ', () => {
  const mask = makeMaskBatch(1, 32, 48); // twice the latent size
  for (let y = 4; y < 8; y++) for (let x = 30; x < 34; x++) mask.data[y * 48 + x] = 1;
  const positive: ConditioningEntry[] = [
    { embeds: text(1), mask, maskStrength: 0.6, setAreaToBounds: true, startPercent: 0.2, endPercent: 0.9 },
    { embeds: text(2), mask: makeMaskBatch(1, 16, 24), setAreaToBounds: true },
  ];
  const { conds } = resolveConditionings(positive, [{ embeds: text(0) }], dims);
  const entry = conds.cond[0];
  assert.equal(entry.mask?.data.length, 16 * 24);
  assert.equal(entry.mask?.data[3 * 24 + 16], 1, 'the 4×4 block at (30, 4) covers cell (15…16, 2…3)');
  assert.equal(entry.maskStrength, 0.6);
  // Bilinear ½× (align_corners false) averages source pairs: the block covers rows 2…3, columns 15…16 exactly;
  // the 2×2 box is widened to 8×8 from its corner.
  assert.deepEqual(entry.area, { height: 8, width: 8, y: 2, x: 15 });
  assert.deepEqual(entry.sigmaRange, { high: percentToSigma(0.2), low: percentToSigma(0.9) });
  assert.deepEqual(conds.cond[1].area, { height: 8, width: 8, y: 0, x: 0 }, 'an empty mask: the 8×8 no-op area');
});

test('the eps model stacks the embeddings of the call\'s chunks (repeated to the longest prompt)', async () => {
  const seen: Tensor[] = [];
  const unet: GuidedUnet = {
    session: { run: async (feeds: Record<string, Tensor>) => { seen.push(feeds.encoder_hidden_states); return { out: { dims: feeds.sample.dims, data: feeds.sample.data } }; } } as unknown as GuidedUnet['session'],
    positive: text(1),
    negative: text(0),
    entries: { cond: [text(1), text(2, 154)], uncond: [text(0)] },
  };
  const model = createEpsModel(unet);
  await model({ sample: new Float32Array(3 * 2 * 4), dims: [3, 4, 1, 2], guidance: 'uncond+cond', chunks: [{ branch: 'cond', entry: 1 }, { branch: 'uncond', entry: 0 }, { branch: 'cond', entry: 0 }], timestep: 1, sigma: 1, step: { index: 0, total: 1 } });
  assert.deepEqual(seen[0].dims, [3, 154, 2]);
  assert.deepEqual([0, 1, 2].map((r) => seen[0].data[r * 154 * 2 + 200]), [2, 0, 1]);
});
