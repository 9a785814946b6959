// The workflows shipped in workflows/: each UI workflow validates against the real node registry, and
// its API twin (`*.api.json`) is exactly what the server-side conversion computes (`invgraph convert`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync, mkdtempSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { parseJson, loadWorkflow, validatePrompt, detectWorkflowFormat } from '../engine/graph/index.ts';
import { createRegistry } from '../nodes/index.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const DIR = join(ROOT, 'workflows');
// The input folder a user would have: the shipped example images and a face photo (face-api's sample).
const input = mkdtempSync(join(tmpdir(), 'invgraph-workflows-'));
for (const name of readdirSync(join(DIR, 'inputs'))) copyFileSync(join(DIR, 'inputs', name), join(input, name));
const faceApi = createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json');
copyFileSync(join(faceApi, '..', 'demo', 'sample1.jpg'), join(input, 'face.jpg'));
const env = { folders: { input, output: join(ROOT, 'output'), temp: join(ROOT, 'temp'), models: join(ROOT, 'models') } };
const registry = createRegistry();
const uiWorkflows = readdirSync(DIR).filter((f) => f.endsWith('.json') && !f.endsWith('.api.json'));

test('at least the text-to-image and img2img workflows are shipped', () => {
  for (const name of ['txt2img.json', 'img2img.json', 'inv-adapter.json']) assert.ok(uiWorkflows.includes(name), name);
});

for (const file of uiWorkflows) {
  test(`workflows/${file} validates and matches its API twin`, async () => {
    const json = parseJson(readFileSync(join(DIR, file), 'utf8'));
    assert.equal(detectWorkflowFormat(json), 'ui');
    const prompt = loadWorkflow(json, registry, env);
    const result = await validatePrompt(prompt, registry, env);
    assert.ok(result.ok, JSON.stringify(result.ok ? {} : result, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
    assert.deepEqual(result.node_errors, {});
    const twin = join(DIR, file.replace(/\.json$/, '.api.json'));
    assert.ok(existsSync(twin), `${twin} is missing: run \`invgraph convert workflows/${file} --out ${twin}\``);
    assert.deepEqual(parseJson(readFileSync(twin, 'utf8')), prompt);
  });
}
