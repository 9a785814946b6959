// Requests that once made the server answer 500 or an HTML stack trace (issue #12 item 6): each
// must be a JSON 4xx naming the problem.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringifyJson } from '../../engine/graph/index.ts';
import { postJson, startTestServer, workPrompt, type TestServer } from './harness.ts';

async function jsonAnswer(res: Response): Promise<{ status: number; text: string }> {
  const text = await res.text();
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `answered ${res.status} as ${res.headers.get('content-type')}: ${text.slice(0, 200)}`);
  assert.doesNotMatch(text, /<html|\/work\/|node_modules| at /i, 'no stack trace or file paths in the answer');
  return { status: res.status, text };
}

describe('hostile requests get a JSON 4xx', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.close());

  test('out-of-range big-integer seeds echo back as JSON validation errors', async () => {
    for (const seed of ['-1', '18446744073709551616', '36893488147419103232', '"abc"']) {
      const prompt = stringifyJson({ '1': { class_type: 'FakeNumber', inputs: { value: 1, seed: 0 } } }).replace('"seed":0', `"seed":${seed}`);
      const text = `{"prompt":${prompt.slice(0, -1)},"2":${stringifyJson(workPrompt()['2'])},"3":${stringifyJson(workPrompt()['3'])}}}`;
      const { status, text: answer } = await jsonAnswer(await postJson(`${server.url}/prompt`, text));
      assert.equal(status, 400, answer);
      assert.match(answer, /prompt_outputs_failed_validation/);
    }
  });

  test('a 5000-character user data name is a 400', async () => {
    const res = await fetch(`${server.url}/userdata/${'a'.repeat(5000)}.json`, { method: 'POST', body: '{}' });
    const { status, text } = await jsonAnswer(res);
    assert.equal(status, 400, text);
    assert.match(text, /too long/);
  });

  test('extra_data nested 3000 deep is a 400', async () => {
    for (const deep of ['{"a":'.repeat(3000) + '1' + '}'.repeat(3000), '['.repeat(3000) + ']'.repeat(3000)]) {
      const res = await postJson(`${server.url}/prompt`, `{"prompt":${stringifyJson(workPrompt())},"extra_data":{"x":${deep}}}`);
      const { status, text } = await jsonAnswer(res);
      assert.equal(status, 400, text);
      assert.match(text, /nested too deeply/);
    }
  });
});

describe('prompt limits (issue #12 item 3c)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ limits: { prompt: { maxSteps: 5 } } });
  });
  after(() => server?.close());

  test('a prompt asking more steps than the server allows is refused at POST /prompt, in ComfyUI\'s shape', async () => {
    const res = await postJson(`${server.url}/prompt`, { prompt: workPrompt({ steps: 6 }) });
    const { status, text } = await jsonAnswer(res);
    assert.equal(status, 400, text);
    const body = JSON.parse(text) as { error: { type: string }; node_errors: Record<string, { errors: { type: string; message: string }[]; class_type: string }> };
    assert.equal(body.error.type, 'prompt_outputs_failed_validation');
    assert.equal(body.node_errors['2'].class_type, 'FakeWork');
    assert.equal(body.node_errors['2'].errors[0].type, 'value_exceeds_server_limit');
    assert.match(body.node_errors['2'].errors[0].message, /6 steps is more than this server allows \(5\)/);
    const queue = (await (await fetch(`${server.url}/queue`)).json()) as { queue_pending: unknown[]; queue_running: unknown[] };
    assert.equal(queue.queue_pending.length + queue.queue_running.length, 0, 'nothing was queued');
  });

  test('a prompt at the limit is accepted', async () => {
    const res = await postJson(`${server.url}/prompt`, { prompt: workPrompt({ steps: 5 }) });
    assert.equal(res.status, 200, await res.text());
  });
});
