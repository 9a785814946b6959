// The rest of the HTTP surface clients probe (comfyui-api.md §2.2–2.16), error answers for client
// mistakes, big seeds through the queue, and a worker that dies mid-job.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ApiPrompt } from '../../engine/graph/index.ts';
import { getJson, postJson, queuePrompt, startTestServer, workPrompt, WsClient, type TestServer } from './harness.ts';

describe('HTTP API surface', () => {
  let server: TestServer;
  let ws: WsClient;
  before(async () => {
    server = await startTestServer();
    ws = await WsClient.connect(server.url, 'surface');
  });
  after(async () => {
    ws.close();
    await server.close();
  });

  test('object_info lists the nodes; an unknown class answers {} with 200 (client readiness probe)', async () => {
    const all = await getJson<Record<string, any>>(`${server.url}/object_info`);
    assert.deepEqual(Object.keys(all).sort(), ['FakeCrash', 'FakeFail', 'FakeNumber', 'FakeSave', 'FakeWork']);
    assert.equal(all.FakeSave.output_node, true);
    const one = await getJson(`${server.url}/api/object_info/FakeNumber`);
    assert.deepEqual(Object.keys(one), ['FakeNumber']);
    const res = await fetch(`${server.url}/object_info/Primitive%20boolean%20%5BCrystools%5D`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {});
  });

  test('system_stats has the fields the frontend schema requires, with os "posix"', async () => {
    const stats = await getJson<any>(`${server.url}/system_stats`);
    for (const key of ['os', 'python_version', 'embedded_python', 'comfyui_version', 'pytorch_version', 'argv', 'ram_total', 'ram_free']) {
      assert.ok(key in stats.system, key);
    }
    assert.equal(stats.system.os, 'posix');
    for (const key of ['name', 'type', 'index', 'vram_total', 'vram_free', 'torch_vram_total', 'torch_vram_free']) assert.ok(key in stats.devices[0], key);
  });

  test('small listings, features and /free answer JSON / 200', async () => {
    assert.deepEqual(await getJson(`${server.url}/embeddings`), []);
    assert.deepEqual(await getJson(`${server.url}/api/extensions`), []);
    assert.ok((await getJson<string[]>(`${server.url}/models`)).includes('checkpoints'));
    assert.deepEqual(await getJson(`${server.url}/models/checkpoints`), []);
    assert.equal((await fetch(`${server.url}/models/nope`)).status, 404);
    const features = await getJson<any>(`${server.url}/features`);
    assert.equal(features.supports_preview_metadata, true);
    const templates = await getJson<Record<string, string[]>>(`${server.url}/api/workflow_templates`);
    assert.ok(Array.isArray(templates.invgraph), 'the shipped workflows are listed');
    assert.equal((await postJson(`${server.url}/free`, { unload_models: true, free_memory: true })).status, 200);
    assert.equal((await fetch(`${server.url}/internal/files/input`)).status, 200);
    assert.equal((await fetch(`${server.url}/internal/files/models`)).status, 400);
    const logs = await getJson<any>(`${server.url}/internal/logs/raw`);
    assert.ok(Array.isArray(logs.entries));
    assert.deepEqual(logs.size, { cols: 80, rows: 24 });
  });

  test('settings and userdata are stored in the data folder', async () => {
    assert.deepEqual(await getJson(`${server.url}/api/settings`), {});
    assert.equal((await postJson(`${server.url}/api/settings`, { 'Comfy.A': 1 })).status, 200);
    assert.equal((await postJson(`${server.url}/api/settings/Comfy.B`, '"two"')).status, 200);
    assert.deepEqual(await getJson(`${server.url}/api/settings`), { 'Comfy.A': 1, 'Comfy.B': 'two' });
    assert.equal(await getJson(`${server.url}/api/settings/Comfy.B`), 'two');
    assert.equal(await getJson(`${server.url}/api/settings/missing`), null);
    const saved = await fetch(`${server.url}/api/userdata/workflows%2Fa.json?overwrite=false`, { method: 'POST', body: '{"x":1}' });
    assert.equal(saved.status, 200);
    assert.equal(await saved.json(), 'workflows/a.json');
    assert.equal((await fetch(`${server.url}/api/userdata/workflows%2Fa.json?overwrite=false`, { method: 'POST', body: '{}' })).status, 409);
    assert.deepEqual(await getJson(`${server.url}/api/userdata?dir=workflows`), ['a.json']);
    assert.equal(await (await fetch(`${server.url}/api/userdata/workflows%2Fa.json`)).text(), '{"x":1}');
    const listing = await getJson<any[]>(`${server.url}/api/v2/userdata?path=workflows`);
    assert.deepEqual(listing.map((e) => [e.name, e.path, e.type]), [['a.json', 'workflows/a.json', 'file']]);
    assert.equal((await fetch(`${server.url}/api/userdata/workflows%2Fa.json/move/workflows%2Fb.json`, { method: 'POST' })).status, 200);
    assert.equal((await fetch(`${server.url}/api/userdata/workflows%2Fb.json`, { method: 'DELETE' })).status, 204);
    assert.equal((await fetch(`${server.url}/api/userdata/workflows%2Fb.json`)).status, 404);
    assert.deepEqual(await getJson(`${server.url}/users`), { storage: 'server', migrated: true });
  });

  test('client mistakes get 4xx JSON answers, never 500', async () => {
    const cases: [string, RequestInit, number][] = [
      ['/prompt', { method: 'POST', body: '{"prompt": ' }, 400],
      ['/prompt', { method: 'POST', body: '[1,2]' }, 400],
      ['/prompt', { method: 'POST', body: '{"prompt": [1]}' }, 400],
      ['/prompt', { method: 'POST', body: '{"prompt": {"1": 5}}' }, 400],
      ['/prompt', { method: 'POST', body: JSON.stringify({ prompt: workPrompt(), number: 'soon' }) }, 400],
      ['/queue', { method: 'POST', body: 'not json' }, 400],
      ['/queue', { method: 'POST', body: '{"delete": "abc"}' }, 400],
      ['/history?max_items=-1', {}, 400],
      ['/history', { method: 'POST', body: '{' }, 400],
      ['/view?filename=x.png&type=models', {}, 400],
      ['/upload/image', { method: 'POST', body: 'plain' }, 400],
      ['/no/such/route', {}, 404],
    ];
    for (const [path, init, status] of cases) {
      const res = await fetch(`${server.url}${path}`, init);
      assert.equal(res.status, status, `${init.method ?? 'GET'} ${path}`);
      const body = (await res.json()) as Record<string, unknown>;
      assert.ok('error' in body, `${path} answers a JSON error`);
    }
    // an empty or unreadable /interrupt body is fine
    assert.equal((await fetch(`${server.url}/interrupt`, { method: 'POST', body: 'x' })).status, 200);
  });

  test('history paging windows, delete and clear over HTTP; big seeds keep their exact value', async () => {
    await postJson(`${server.url}/history`, { clear: true });
    const seed = '18446744073709551615';
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const prompt = workPrompt({ tag: `page${i}`, value: 100 + i });
      const body = JSON.stringify({ prompt, client_id: 'surface' }).replace('"value":' + (100 + i) + '}', `"value":${100 + i},"seed":${seed}}`);
      const res = await postJson(`${server.url}/prompt`, body);
      assert.equal(res.status, 200);
      ids.push(((await res.json()) as { prompt_id: string }).prompt_id);
    }
    for (const id of ids) await ws.finished(id);
    const keys = async (query: string) => Object.keys(await getJson(`${server.url}/history${query}`));
    assert.deepEqual(await keys(''), ids);
    assert.deepEqual(await keys('?max_items=2'), ids.slice(2));
    assert.deepEqual(await keys('?offset=1&max_items=2'), ids.slice(1, 3));
    assert.deepEqual(await keys('?offset=10'), []);
    const text = await (await fetch(`${server.url}/history/${ids[0]}`)).text();
    assert.ok(text.includes(`"seed":${seed}`), 'the seed is printed with all its digits');
    await postJson(`${server.url}/history`, { delete: [ids[0]] });
    assert.deepEqual(await keys(''), ids.slice(1));
    await postJson(`${server.url}/api/history`, { clear: true });
    assert.deepEqual(await keys(''), []);
  });

  test('a node error gives execution_error with ComfyUI fields; the server keeps serving', async () => {
    const prompt: ApiPrompt = { ...workPrompt({ tag: 'err' }), '2': { class_type: 'FakeFail', inputs: { value: ['1', 0], message: 'kaput' } } };
    const id = await queuePrompt(server.url, prompt, 'surface');
    const error = await ws.waitFor((f) => f.type === 'execution_error' && f.data.prompt_id === id);
    assert.equal(error.data.node_id, '2');
    assert.equal(error.data.node_type, 'FakeFail');
    assert.match(String(error.data.exception_message), /kaput\n$/);
    await ws.finished(id);
    const entry = (await getJson<any>(`${server.url}/history/${id}`))[id];
    assert.equal(entry.status.status_str, 'error');
  });

  test('a worker that dies mid-job fails that job with execution_error; the next job runs on a new worker', async () => {
    const prompt: ApiPrompt = { ...workPrompt({ tag: 'crash' }), '2': { class_type: 'FakeCrash', inputs: { value: ['1', 0] } } };
    const crashed = await queuePrompt(server.url, prompt, 'surface');
    const next = await queuePrompt(server.url, workPrompt({ tag: 'survivor', value: 77 }), 'surface');
    const error = await ws.waitFor((f) => f.type === 'execution_error' && f.data.prompt_id === crashed);
    assert.equal(error.data.exception_type, 'ExecutionWorkerError');
    assert.equal(error.data.node_id, '2');
    assert.match(String(error.data.exception_message), /exit code 7/);
    await ws.finished(next, 60_000);
    const entry = (await getJson<any>(`${server.url}/history/${next}`))[next];
    assert.equal(entry.status.status_str, 'success');
  });

  test('a prompt_id already queued is refused; a fresh caller-chosen id is kept', async () => {
    const body = { prompt: workPrompt({ tag: 'dup', ms: 300, steps: 3 }), client_id: 'surface', prompt_id: 'my-id' };
    const first = await postJson(`${server.url}/prompt`, body);
    assert.equal(((await first.json()) as { prompt_id: string }).prompt_id, 'my-id');
    const again = await postJson(`${server.url}/prompt`, body);
    assert.equal(again.status, 400);
    assert.match(((await again.json()) as { error: string }).error, /my-id/);
    await ws.finished('my-id');
  });

  test('a mask upload puts the mask alpha onto the original', async () => {
    const original = await sharp({ create: { width: 6, height: 4, channels: 3, background: '#f00' } }).png().toBuffer();
    const mask = await sharp({ create: { width: 6, height: 4, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.2 } } }).png().toBuffer();
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(original)], { type: 'image/png' }), 'base.png');
    assert.equal((await fetch(`${server.url}/upload/image`, { method: 'POST', body: form })).status, 200);
    const maskForm = new FormData();
    maskForm.append('image', new Blob([new Uint8Array(mask)], { type: 'image/png' }), 'mask.png');
    maskForm.append('original_ref', JSON.stringify({ filename: 'base.png', subfolder: '', type: 'input' }));
    const res = await fetch(`${server.url}/upload/mask`, { method: 'POST', body: maskForm });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { name: 'mask.png', subfolder: '', type: 'input' });
    const { data, info } = await sharp(join(server.dirs.input, 'mask.png')).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 4);
    assert.deepEqual([...data.subarray(0, 4)], [255, 0, 0, 51]);
  });

  test('reconnecting with the same clientId during its job gets executing {node} and the later frames', async () => {
    const id = await queuePrompt(server.url, workPrompt({ tag: 'reconnect', ms: 1500, steps: 30 }), 'roamer');
    const first = await WsClient.connect(server.url, 'roamer');
    await first.waitFor((f) => f.type === 'progress' && f.data.prompt_id === id);
    const second = await WsClient.connect(server.url, 'roamer');
    const resumed = await second.waitFor((f) => f.type === 'executing');
    assert.deepEqual(resumed.data, { node: '2' });
    first.close(); // closing the old socket must not silence the new one (§3.1 quirk not copied)
    await second.finished(id);
    assert.ok(second.framesOf(id).some((f) => f.type === 'executed'));
    second.close();
  });

  test('POST /workflow/convert turns a UI workflow into a prompt that runs; a broken one is a 400', async () => {
    const workflow = {
      last_node_id: 2, last_link_id: 1, version: 0.4, links: [[1, 1, 0, 2, 0, 'INT']],
      nodes: [
        { id: 1, type: 'FakeNumber', mode: 0, inputs: [], outputs: [{ name: 'INT', type: 'INT', links: [1] }], widgets_values: [5, 'double', 0] },
        { id: 2, type: 'FakeSave', mode: 0, inputs: [{ name: 'value', type: 'INT', link: 1 }], outputs: [], widgets_values: ['converted'] },
      ],
    };
    const res = await postJson(`${server.url}/api/workflow/convert`, workflow);
    assert.equal(res.status, 200);
    const { prompt } = (await res.json()) as { prompt: ApiPrompt };
    assert.deepEqual(prompt['2'].inputs, { tag: 'converted', value: ['1', 0] });
    const id = await queuePrompt(server.url, prompt, 'surface');
    await ws.finished(id);
    assert.equal(readFileSync(join(server.dirs.output, 'converted.txt'), 'utf8'), '10\n');
    const broken = await postJson(`${server.url}/api/workflow/convert`, { nodes: 5 });
    assert.equal(broken.status, 400);
    assert.ok(Array.isArray(((await broken.json()) as { problems: unknown }).problems));
  });

  test('/ answers a page even without a built editor', async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /editor is not built/);
  });
});

test('idle sockets get a status heartbeat and ws pings', async () => {
  const server = await startTestServer({ heartbeatMs: 100 });
  const ws = await WsClient.connect(server.url, 'idle');
  let pings = 0;
  ws.socket.on('ping', () => pings++);
  try {
    await ws.waitFor((f) => f.type === 'status' && f.data.sid === undefined, 2000);
    assert.ok(pings >= 1);
    assert.equal(ws.socket.readyState, ws.socket.OPEN);
  } finally {
    ws.close();
    await server.close();
  }
});
