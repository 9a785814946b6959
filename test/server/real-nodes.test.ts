// The real node path (nodes/index.ts in the worker): upload → LoadImage → ImageScale → SaveImage
// over plain HTTP + ws, and a published ComfyUI client library driving the same server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { CallWrapper, ComfyApi, PromptBuilder } from '@saintno/comfyui-sdk';
import type { ApiPrompt } from '../../engine/graph/index.ts';
import { getJson, queuePrompt, startTestServer, WsClient } from './harness.ts';

const MIXED_REGISTRY = new URL('./mixed-nodes.ts', import.meta.url).href;

async function testImage(): Promise<Buffer> {
  return sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toBuffer();
}

function scalePrompt(image: string, progressSteps?: number): ApiPrompt {
  const prompt: ApiPrompt = {
    '1': { class_type: 'LoadImage', inputs: { image } },
    '2': { class_type: 'ImageScale', inputs: { image: ['1', 0], upscale_method: 'bilinear', width: 20, height: 16, crop: 'disabled' } },
    '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'scaled/run' } },
  };
  if (progressSteps !== undefined) {
    prompt['4'] = { class_type: 'FakeImageProgress', inputs: { image: ['1', 0], steps: progressSteps } };
    prompt['2'].inputs.image = ['4', 0];
  }
  return prompt;
}

test('LoadImage → ImageScale → SaveImage with the real nodes, served back by /view', { timeout: 60_000 }, async () => {
  const server = await startTestServer({ registryModule: undefined });
  const ws = await WsClient.connect(server.url, 'real');
  try {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(await testImage())], { type: 'image/png' }), 'source.png');
    const uploaded = (await (await fetch(`${server.url}/api/upload/image`, { method: 'POST', body: form })).json()) as { name: string };
    const id = await queuePrompt(server.url, scalePrompt(uploaded.name), 'real', { extra_data: { extra_pnginfo: { workflow: { nodes: [] } } } });
    await ws.finished(id, 30_000);
    const entry = (await getJson<any>(`${server.url}/history/${id}`))[id];
    assert.equal(entry.status.status_str, 'success', JSON.stringify(entry.status));
    const [image] = entry.outputs['3'].images;
    assert.deepEqual(image, { filename: 'run_00001_.png', subfolder: 'scaled', type: 'output' });
    const res = await fetch(`${server.url}/view?filename=${image.filename}&subfolder=${image.subfolder}&type=output`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    const png = Buffer.from(await res.arrayBuffer());
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.width, meta.height], [20, 16]);
    assert.ok(png.includes(Buffer.from('workflow')), 'SaveImage embeds extra_pnginfo');
  } finally {
    ws.close();
    await server.close();
  }
});

test('@saintno/comfyui-sdk queues a workflow, sees progress and images, reads history, downloads', { timeout: 60_000 }, async () => {
  const server = await startTestServer({ registryModule: MIXED_REGISTRY });
  const api = new ComfyApi(server.url, 'sdk-client');
  try {
    // waitForReady() does not wait for the websocket; the first `status` frame shows it is open.
    const socketOpen = new Promise<void>((resolve) => api.on('status', () => resolve()));
    api.init(5, 200);
    await api.waitForReady();
    await socketOpen;
    const uploaded = await api.uploadImage(await testImage(), 'sdk.png');
    assert.ok(uploaded, 'upload succeeded');
    const builder = new PromptBuilder(scalePrompt('placeholder.png', 3) as Record<string, any>, ['image'], ['images'])
      .setInputNode('image', '1.inputs.image')
      .setOutputNode('images', '3')
      .input('image', uploaded.info.filename);
    const progress: number[] = [];
    let promptId: string | undefined;
    const result = await new Promise<any>((resolve, reject) => {
      new CallWrapper(api, builder)
        .onProgress((info) => progress.push(info.value))
        .onFinished((data, id) => {
          promptId = id;
          resolve(data);
        })
        .onFailed((error) => reject(error))
        .run();
    });
    assert.deepEqual(progress, [1, 2, 3]);
    const images = result.images.images as { filename: string; subfolder: string; type: string }[];
    assert.equal(images.length, 1);
    assert.equal(images[0].subfolder, 'scaled');
    // onFinished fires on the output's `executed` frame, which precedes the history write (§3.3).
    let history = await api.getHistory(promptId!);
    for (let i = 0; i < 50 && !history; i++) {
      await new Promise((r) => setTimeout(r, 100));
      history = await api.getHistory(promptId!);
    }
    assert.equal(history?.status.completed, true);
    const blob = await api.getImage(images[0]);
    const meta = await sharp(Buffer.from(await blob.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 20, 16]);
  } finally {
    api.destroy();
    await server.close();
  }
});
