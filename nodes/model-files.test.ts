// Model folders as users have them: symbolic links to files elsewhere, and extra folders per type
// (extra_model_paths.yaml); request names stay confined to the folders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Folders } from '../engine/graph/index.ts';
import { UnsafePathError } from '../engine/files/index.ts';
import { openCheckpoint } from '../engine/sd/index.ts';
import { listModels, resolveModel, ModelNotFoundError } from './model-files.ts';

const FIXTURE = new URL('../test/fixtures/sd15-tiny/', import.meta.url).pathname;
const SAFETENSORS = { file: /\.safetensors$/ };

function setup(): { root: string; folders: Folders; elsewhere: string } {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'invgraph-models-')));
  const elsewhere = join(root, 'elsewhere');
  mkdirSync(join(root, 'models', 'checkpoints'), { recursive: true });
  mkdirSync(join(elsewhere, 'shared-ckpts'), { recursive: true });
  const folders: Folders = { input: join(root, 'in'), output: join(root, 'out'), temp: join(root, 'tmp'), models: join(root, 'models'),
    extraModels: { checkpoints: [join(elsewhere, 'shared-ckpts')] } };
  return { root, folders, elsewhere };
}

test('a checkpoint symlinked into models/checkpoints is listed, resolved and loads', () => {
  const { folders, elsewhere } = setup();
  const target = join(elsewhere, 'big-disk.safetensors');
  copyFileSync(join(FIXTURE, 'checkpoint.safetensors'), target);
  writeFileSync(join(elsewhere, 'big-disk.yaml'), `${'model:\n  params:\n    cond_stage_config:\n      params:\n        num_heads: 4\n'}`);
  symlinkSync(target, join(folders.models, 'checkpoints', 'linked.safetensors'));
  symlinkSync(join(elsewhere, 'big-disk.yaml'), join(folders.models, 'checkpoints', 'linked.yaml'));
  assert.deepEqual(listModels(folders, 'checkpoints', SAFETENSORS), ['linked.safetensors']);
  const path = resolveModel(folders, 'checkpoints', 'linked.safetensors');
  assert.equal(path, join(folders.models, 'checkpoints', 'linked.safetensors'));
  assert.equal(openCheckpoint(path).config.clip.heads, 4);
});

test('extra folders are listed after models/<type>; the first folder holding a name wins', () => {
  const { folders, elsewhere } = setup();
  writeFileSync(join(folders.models, 'checkpoints', 'both.safetensors'), 'local');
  writeFileSync(join(elsewhere, 'shared-ckpts', 'both.safetensors'), 'shared');
  writeFileSync(join(elsewhere, 'shared-ckpts', 'only-shared.safetensors'), 'shared');
  assert.deepEqual(listModels(folders, 'checkpoints', SAFETENSORS), ['both.safetensors', 'only-shared.safetensors']);
  assert.equal(resolveModel(folders, 'checkpoints', 'both.safetensors'), join(folders.models, 'checkpoints', 'both.safetensors'));
  assert.equal(resolveModel(folders, 'checkpoints', 'only-shared.safetensors'), join(elsewhere, 'shared-ckpts', 'only-shared.safetensors'));
});

test('request names stay confined; a missing model names every folder searched', () => {
  const { folders, elsewhere } = setup();
  assert.throws(() => resolveModel(folders, 'checkpoints', '../../elsewhere/x.safetensors'), UnsafePathError);
  assert.throws(() => resolveModel(folders, 'checkpoints', '/etc/passwd'), UnsafePathError);
  assert.throws(() => resolveModel(folders, 'checkpoints', 'nope.safetensors'), (e: Error) => e instanceof ModelNotFoundError
    && e.message.includes(join(folders.models, 'checkpoints')) && e.message.includes(join(elsewhere, 'shared-ckpts')));
});
