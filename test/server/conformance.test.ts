// comfyui-api.md §10.1 conformance checklist against a real server (execution process, fake nodes).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { PREVIEW_BYTES } from './fake-nodes.ts';
import { getJson, postJson, queuePrompt, startTestServer, workPrompt, WsClient, type TestServer } from './harness.ts';

describe('ComfyUI conformance checklist (§10.1)', () => {
  let server: TestServer;
  let ws: WsClient;
  before(async () => {
    server = await startTestServer();
    ws = await WsClient.connect(server.url, 'conformance');
  });
  after(async () => {
    ws.close();
    await server.close();
  });

  test('1. GET /prompt and /api/prompt answer the queue counter', async () => {
    for (const path of ['/prompt', '/api/prompt']) {
      assert.deepEqual(await getJson(`${server.url}${path}`), { exec_info: { queue_remaining: 0 } });
    }
  });

  test('2. websocket status frame carries a generated sid, or echoes the clientId (also on /api/ws)', async () => {
    const anonymous = await WsClient.connect(server.url);
    const first = await anonymous.waitFor(() => true);
    assert.equal(first.type, 'status');
    assert.match(String(first.data.sid), /^[0-9a-f]{32}$/);
    assert.deepEqual(first.data.status, { exec_info: { queue_remaining: 0 } });
    anonymous.close();
    assert.equal(ws.frames[0].type, 'status');
    assert.equal(ws.frames[0].data.sid, 'conformance');
  });

  test('3. a valid prompt runs with the §3.3 frame sequence and lands in history', async () => {
    const from = ws.frames.length;
    const res = await postJson(`${server.url}/prompt`, { prompt: workPrompt({ tag: 'seq', steps: 2 }), client_id: 'conformance' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { prompt_id: string; number: number; node_errors: object };
    assert.deepEqual(Object.keys(body).sort(), ['node_errors', 'number', 'prompt_id']);
    assert.deepEqual(body.node_errors, {});
    assert.equal(typeof body.number, 'number');
    const id = body.prompt_id;
    await ws.finished(id);
    const sequence = ws.frames.slice(from).filter((f) => f.type !== 'status').map((f) => `${f.type}${f.type === 'executing' || f.type === 'executed' ? ':' + String(f.data.node) : ''}`);
    assert.deepEqual(sequence, [
      'execution_start', 'execution_cached', 'executing:1', 'executing:2', 'progress', 'progress',
      'executing:3', 'executed:3', 'execution_success', 'executing:null',
    ]);
    // history is written before `status` and `executing null` (§3.3)
    const tail = ws.frames.slice(-2).map((f) => f.type);
    assert.deepEqual(tail, ['status', 'executing']);
    const history = await getJson<Record<string, any>>(`${server.url}/history/${id}`);
    const entry = history[id];
    assert.deepEqual(Object.keys(entry), ['prompt', 'outputs', 'status', 'meta']);
    assert.equal(entry.prompt[1], id);
    assert.deepEqual(entry.prompt[4], ['3']);
    assert.deepEqual(entry.outputs, { '3': { images: [{ filename: 'seq.txt', subfolder: '', type: 'output' }] } });
    assert.equal(entry.status.completed, true);
    assert.equal(entry.status.status_str, 'success');
    assert.deepEqual(entry.status.messages.map((m: [string]) => m[0]), ['execution_start', 'execution_cached', 'execution_success']);
    assert.deepEqual(entry.meta['3'], { node_id: '3', display_node: '3', parent_node: null, real_node_id: '3' });
  });

  test('4. the same prompt again is served from cache with the same files', async () => {
    const prompt = workPrompt({ tag: 'cached' });
    const first = await queuePrompt(server.url, prompt, 'conformance');
    await ws.finished(first);
    const from = ws.frames.length;
    const second = await queuePrompt(server.url, prompt, 'conformance');
    await ws.finished(second);
    const frames = ws.frames.slice(from).filter((f) => f.data.prompt_id === second);
    const cached = frames.find((f) => f.type === 'execution_cached');
    assert.deepEqual(cached?.data.nodes, ['1', '2', '3']);
    assert.equal(frames.filter((f) => f.type === 'executing' && f.data.node !== null).length, 0);
    const executed = frames.find((f) => f.type === 'executed');
    assert.deepEqual(executed?.data.output, { images: [{ filename: 'cached.txt', subfolder: '', type: 'output' }] });
    // the side effect happened once
    assert.equal(readFileSync(join(server.dirs.output, 'cached.txt'), 'utf8'), '2\n');
  });

  test('5. missing input, bad combo and out-of-range values answer 400 with ComfyUI error types', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ value: 1, mode: 'triple' }, 'value_not_in_list'],
      [{ value: 5_000_000 }, 'value_bigger_than_max'],
      [{}, 'required_input_missing'],
    ];
    for (const [inputs, type] of cases) {
      const prompt = { ...workPrompt(), '1': { class_type: 'FakeNumber', inputs } };
      const res = await postJson(`${server.url}/prompt`, { prompt });
      assert.equal(res.status, 400);
      const body = (await res.json()) as any;
      assert.equal(body.error.type, 'prompt_outputs_failed_validation');
      assert.equal(body.node_errors['1'].errors[0].type, type, JSON.stringify(body));
      assert.equal(body.node_errors['1'].class_type, 'FakeNumber');
    }
  });

  test('6. no outputs → prompt_no_outputs; unknown class → invalid_prompt; no prompt → no_prompt', async () => {
    const noOutputs = await postJson(`${server.url}/prompt`, { prompt: { '1': { class_type: 'FakeNumber', inputs: { value: 1 } } } });
    assert.equal(noOutputs.status, 400);
    assert.deepEqual(((await noOutputs.json()) as any).error.type, 'prompt_no_outputs');
    const unknown = await postJson(`${server.url}/prompt`, { prompt: { '1': { class_type: 'NoSuchNode', inputs: {} } } });
    assert.equal(unknown.status, 400);
    const body = (await unknown.json()) as any;
    // 0.3.64 says invalid_prompt; engine/graph answers missing_node_type as later ComfyUI does.
    assert.ok(['invalid_prompt', 'missing_node_type'].includes(body.error.type), body.error.type);
    assert.match(body.error.details, /#1/);
    assert.deepEqual(body.node_errors, {});
    const none = await postJson(`${server.url}/prompt`, { client_id: 'x' });
    assert.equal(none.status, 400);
    assert.equal(((await none.json()) as any).error.type, 'no_prompt');
  });

  test('7. two outputs with one invalid → 200 with node_errors, and only the valid output runs', async () => {
    const prompt = {
      ...workPrompt({ tag: 'good' }),
      '4': { class_type: 'FakeNumber', inputs: { value: 9_999_999 } },
      '5': { class_type: 'FakeSave', inputs: { value: ['4', 0], tag: 'bad' } },
    };
    const res = await postJson(`${server.url}/prompt`, { prompt, client_id: 'conformance' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as any;
    assert.deepEqual(Object.keys(body.node_errors), ['4']);
    assert.deepEqual(body.node_errors['4'].dependent_outputs, ['5']);
    await ws.finished(body.prompt_id);
    assert.ok(existsSync(join(server.dirs.output, 'good.txt')));
    assert.ok(!existsSync(join(server.dirs.output, 'bad.txt')));
  });

  test('8. interrupt during a long node ends it as interrupted, and the next job still runs', async () => {
    const long = await queuePrompt(server.url, workPrompt({ tag: 'long', ms: 20_000, steps: 400 }), 'conformance');
    const next = await queuePrompt(server.url, workPrompt({ tag: 'after' }), 'conformance');
    await ws.waitFor((f) => f.type === 'progress' && f.data.prompt_id === long);
    // Targeted at another prompt: a no-op.
    await postJson(`${server.url}/interrupt`, { prompt_id: next });
    await postJson(`${server.url}/interrupt`, { prompt_id: long });
    const interrupted = await ws.waitFor((f) => f.type === 'execution_interrupted' && f.data.prompt_id === long, 5000);
    assert.equal(interrupted.data.node_id, '2');
    assert.equal(interrupted.data.node_type, 'FakeWork');
    await ws.finished(long);
    const entry = (await getJson<Record<string, any>>(`${server.url}/history/${long}`))[long];
    assert.equal(entry.status.status_str, 'error');
    assert.equal(entry.status.completed, false);
    assert.ok(entry.status.messages.some((m: [string]) => m[0] === 'execution_interrupted'));
    await ws.finished(next);
    assert.equal((await getJson<Record<string, any>>(`${server.url}/history/${next}`))[next].status.status_str, 'success');
  });

  test('9. POST /queue delete and clear remove pending jobs and broadcast status', async () => {
    const blocker = await queuePrompt(server.url, workPrompt({ tag: 'blocker', ms: 20_000, steps: 400 }), 'conformance');
    const a = await queuePrompt(server.url, workPrompt({ tag: 'qa' }), 'conformance');
    const b = await queuePrompt(server.url, workPrompt({ tag: 'qb' }), 'conformance');
    const c = await queuePrompt(server.url, workPrompt({ tag: 'qc' }), 'conformance');
    await ws.waitFor((f) => f.type === 'executing' && f.data.prompt_id === blocker);
    let queue = await getJson<any>(`${server.url}/queue`);
    assert.deepEqual(queue.queue_running.map((item: unknown[]) => item[1]), [blocker]);
    assert.deepEqual(queue.queue_pending.map((item: unknown[]) => item[1]).sort(), [a, b, c].sort());
    assert.equal(queue.queue_pending[0].length, 5);
    let from = ws.frames.length;
    assert.equal((await postJson(`${server.url}/queue`, { delete: [b] })).status, 200);
    await ws.waitFor((f) => f.type === 'status' && (f.data.status as any).exec_info.queue_remaining === 3, 5000, from);
    from = ws.frames.length;
    await postJson(`${server.url}/api/queue`, { clear: true });
    await ws.waitFor((f) => f.type === 'status' && (f.data.status as any).exec_info.queue_remaining === 1, 5000, from);
    queue = await getJson<any>(`${server.url}/queue`);
    assert.deepEqual(queue.queue_pending, []);
    assert.deepEqual(queue.queue_running.map((item: unknown[]) => item[1]), [blocker]);
    await postJson(`${server.url}/interrupt`, {});
    await ws.finished(blocker);
    for (const id of [a, b, c]) assert.deepEqual(await getJson(`${server.url}/history/${id}`), {});
  });

  test('10. uploading identical bytes keeps the name; different bytes get "name (1).ext"', async () => {
    const red = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } }).png().toBuffer();
    const blue = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#00f' } }).png().toBuffer();
    const upload = async (data: Buffer, fields: Record<string, string> = {}) => {
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(data)], { type: 'image/png' }), 'photo.png');
      for (const [k, v] of Object.entries(fields)) form.append(k, v);
      const res = await fetch(`${server.url}/upload/image`, { method: 'POST', body: form });
      return { status: res.status, body: (await res.json()) as Record<string, string> };
    };
    assert.deepEqual(await upload(red), { status: 200, body: { name: 'photo.png', subfolder: '', type: 'input' } });
    assert.deepEqual((await upload(red)).body.name, 'photo.png');
    assert.deepEqual((await upload(blue)).body.name, 'photo (1).png');
    assert.deepEqual((await upload(blue)).body.name, 'photo (1).png');
    assert.deepEqual((await upload(blue, { overwrite: 'true' })).body.name, 'photo.png');
    assert.deepEqual(readFileSync(join(server.dirs.input, 'photo.png')), blue);
    assert.deepEqual(await upload(red, { subfolder: 'faces', type: 'temp' }), { status: 200, body: { name: 'photo.png', subfolder: 'faces', type: 'temp' } });
    assert.ok(existsSync(join(server.dirs.temp, 'faces', 'photo.png')));
    // /view serves what was uploaded, and a preview re-encode gives webp
    const viewed = await fetch(`${server.url}/api/view?filename=photo.png&type=input`);
    assert.equal(viewed.status, 200);
    assert.deepEqual(Buffer.from(await viewed.arrayBuffer()), blue);
    const preview = await fetch(`${server.url}/view?filename=photo.png&type=input&preview=webp;80`);
    assert.equal(preview.headers.get('content-type'), 'image/webp');
    assert.equal((await sharp(Buffer.from(await preview.arrayBuffer())).metadata()).format, 'webp');
  });

  test('11. /view refuses ".." (400), a subfolder escape (403) and answers 404 for a missing file', async () => {
    assert.equal((await fetch(`${server.url}/view?filename=../secret.png`)).status, 400);
    assert.equal((await fetch(`${server.url}/view?filename=a.png&subfolder=../..`)).status, 403);
    assert.equal((await fetch(`${server.url}/view?filename=missing.png`)).status, 404);
    assert.equal((await fetch(`${server.url}/view`)).status, 404);
    assert.equal((await fetch(`${server.url}/view?filename=seq.txt&type=output`)).status, 200);
  });

  test('12. feature_flags negotiation gives type-4 previews; other clients get type 1', async () => {
    const modern = await WsClient.connect(server.url, 'modern');
    modern.socket.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }));
    const reply = await modern.waitFor((f) => f.type === 'feature_flags');
    assert.equal(reply.data.supports_preview_metadata, true);
    assert.equal(typeof reply.data.max_upload_size, 'number');
    const a = await queuePrompt(server.url, workPrompt({ tag: 'pv4', steps: 2, preview: true, value: 41 }), 'modern');
    await modern.finished(a);
    assert.equal(modern.binary.length, 2);
    const frame = modern.binary[0];
    assert.equal(frame.readUInt32BE(0), 4);
    const length = frame.readUInt32BE(4);
    const metadata = JSON.parse(frame.subarray(8, 8 + length).toString());
    assert.deepEqual(metadata, { node_id: '2', prompt_id: a, display_node_id: '2', parent_node_id: null, real_node_id: '2', image_type: 'image/jpeg' });
    assert.deepEqual(new Uint8Array(frame.subarray(8 + length)), PREVIEW_BYTES);
    modern.close();

    const before = ws.binary.length;
    const b = await queuePrompt(server.url, workPrompt({ tag: 'pv1', steps: 2, preview: true, value: 42 }), 'conformance');
    await ws.finished(b);
    const classic = ws.binary.slice(before);
    assert.equal(classic.length, 2);
    assert.equal(classic[0].readUInt32BE(0), 1);
    assert.equal(classic[0].readUInt32BE(4), 1);
    assert.deepEqual(new Uint8Array(classic[0].subarray(8)), PREVIEW_BYTES);
  });
});
