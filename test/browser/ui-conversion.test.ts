// The editor's own logic, run in Node: its UI → API conversion must give the server's answer
// on every ComfyUI-style fixture; API prompts reopen as workflows; PNG text chunks; type rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import sharp from 'sharp';
import { objectInfo, stringifyJson, workflowToPrompt, parseJson } from '../../engine/graph/index.ts';
import type { ApiPrompt, UiWorkflow } from '../../engine/graph/index.ts';
import { testRegistry, TEST_ENV } from '../../engine/graph/test-registry.ts';
import { insertPngTextChunks } from '../../engine/image/index.ts';
import { graphToPrompt } from '../../ui/src/graph-to-prompt.ts';
import { apiPromptToWorkflow } from '../../ui/src/api-to-workflow.ts';
import { pngTextChunks } from '../../ui/src/png-text.ts';
import { typesMatch } from '../../ui/src/type-match.ts';
import { widgetEntries, type ObjectInfo } from '../../ui/src/node-info.ts';

const registry = testRegistry();
/** /object_info as the browser receives it: JSON text, parsed with JSON.parse. */
const browserObjectInfo = JSON.parse(stringifyJson(objectInfo(registry, TEST_ENV))) as ObjectInfo;
const FIXTURES = new URL('../fixtures/workflows/', import.meta.url);

/** The browser has no bigint: compare as JSON numbers, as its prompt would be sent. */
function asBrowserJson(value: unknown): unknown {
  return JSON.parse(stringifyJson(value));
}

const fixtureNames = readdirSync(FIXTURES).filter((f) => f.endsWith('.json') && !f.endsWith('.api.json'));

test('there are ComfyUI-style fixtures to compare on', () => {
  assert.ok(fixtureNames.length >= 5, fixtureNames.join(', '));
});

for (const name of fixtureNames) {
  test(`editor conversion of ${name} equals the server's workflowToPrompt`, () => {
    const text = readFileSync(new URL(name, FIXTURES), 'utf8');
    const server = workflowToPrompt(parseJson(text), registry, TEST_ENV);
    const browser = graphToPrompt(JSON.parse(text) as UiWorkflow, browserObjectInfo);
    assert.deepEqual(asBrowserJson(browser), asBrowserJson(server));
  });
}

test('KSampler widgets: the control value after seed is skipped, the rest map by input_order', () => {
  const names = widgetEntries(browserObjectInfo.KSampler).map((e) => `${e.name}${e.hasControl ? '+control' : ''}`);
  assert.deepEqual(names, ['seed+control', 'steps', 'cfg', 'sampler_name', 'scheduler', 'denoise']);
});

test('an API prompt reopens as a workflow that converts back to the same prompt', () => {
  const prompt = JSON.parse(readFileSync(new URL('txt2img-default.api.json', FIXTURES), 'utf8')) as ApiPrompt;
  const workflow = apiPromptToWorkflow(prompt, browserObjectInfo);
  assert.deepEqual(graphToPrompt(workflow, browserObjectInfo), prompt);
  const sampler = workflow.nodes.find((n) => n.type === 'KSampler')!;
  assert.ok((sampler.pos as number[])[0] > (workflow.nodes.find((n) => n.type === 'CheckpointLoaderSimple')!.pos as number[])[0], 'laid out left to right by depth');
});

test('PNG text chunks: the workflow SaveImage embeds is read back; other files are not PNGs', async () => {
  const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#000' } }).png().toBuffer();
  const withText = insertPngTextChunks(png, [['prompt', '{"1": {}}'], ['workflow', '{"nodes": [], "note": "caf\\u00e9"}']]);
  assert.deepEqual(pngTextChunks(withText), { prompt: '{"1": {}}', workflow: '{"nodes": [], "note": "caf\\u00e9"}' });
  assert.equal(pngTextChunks(new TextEncoder().encode('{"nodes": []}')), null);
  assert.deepEqual(pngTextChunks(png), {});
});

test('socket types follow ComfyUI: equal names, "*", comma lists; nothing else', () => {
  assert.equal(typesMatch('IMAGE', 'IMAGE'), true);
  assert.equal(typesMatch('IMAGE', 'MASK'), false);
  assert.equal(typesMatch('INT', 'FLOAT,INT'), true);
  assert.equal(typesMatch('STRING', 'FLOAT,INT'), false);
  assert.equal(typesMatch('*', 'LATENT'), true);
  assert.equal(typesMatch('MODEL', '*'), true);
  assert.equal(typesMatch('image', 'IMAGE'), false, 'names are case-sensitive, as in ComfyUI');
});
