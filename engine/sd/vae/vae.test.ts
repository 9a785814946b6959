// Parity of the VAE encoder and decoder graphs with the sd15-tiny goldens (vae.safetensors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSession } from '../../onnx/index.ts';
import { openCheckpoint } from '../checkpoint/checkpoint.ts';
import { sdModelPath } from '../graph-models.ts';
import { FIXTURE_CHECKPOINT, goldens, assertClose } from '../test-fixture.ts';
import { tempDir } from '../../onnx/test-helpers.ts';

const golden = goldens('vae.safetensors');

test('VAE encoder: posterior mean, clamped logvar and scaled latent match the goldens', async () => {
  const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
  const session = await createSession(sdModelPath(tempDir(), checkpoint, { kind: 'vae-encoder' }).path, { device: 'cpu', threads: 1 });
  try {
    const image = golden('image');
    const out = await session.run({ image: { dims: image.dims, data: image.data } });
    assert.deepEqual(out.mean.dims, [1, 4, 8, 8]);
    assertClose(out.mean.data, golden('latent_mean').data, 'latent_mean');
    assertClose(out.logvar.data, golden('latent_logvar').data, 'latent_logvar');
    assertClose(out.latent.data, golden('scaled_latent_mean').data, 'scaled_latent_mean');
  } finally {
    await session.release();
  }
});

test('VAE decoder: the image from a latent matches the golden', async () => {
  const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
  const session = await createSession(sdModelPath(tempDir(), checkpoint, { kind: 'vae-decoder' }).path, { device: 'cpu', threads: 1 });
  try {
    // decoder_input is already divided by the scaling factor; the graph takes the SD latent.
    const z = golden('decoder_input');
    const latent = Float32Array.from(z.data, (v) => v * checkpoint.config.vae.scalingFactor);
    const out = await session.run({ latent: { dims: z.dims, data: latent } });
    assert.deepEqual(out.image.dims, [1, 3, 64, 64]);
    assertClose(out.image.data, golden('decoder_output').data, 'decoder_output');
  } finally {
    await session.release();
  }
});
