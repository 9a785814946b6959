import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readExtraModelPaths, ExtraModelPathsError } from './extra-model-paths.ts';

function yamlFile(text: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-emp-'));
  mkdirSync(join(dir, 'conf'));
  const file = join(dir, 'conf', 'extra_model_paths.yaml');
  writeFileSync(file, text);
  return { dir, file };
}

test("ComfyUI's example file: base_path relative to the yaml, several paths per type, sections merged in order", () => {
  const { dir, file } = yamlFile(`
a111:
    base_path: ../webui/
    checkpoints: models/Stable-diffusion
    vae: models/VAE
    loras: |
         models/Lora
         models/LyCORIS
    upscale_models: |
                  models/ESRGAN
                  models/RealESRGAN
    embeddings: embeddings
comfyui:
    base_path: /srv/comfy
    is_default: true
    checkpoints: models/checkpoints/
    controlnet: /abs/controlnet
`);
  const paths = readExtraModelPaths(file);
  assert.deepEqual(paths.checkpoints, [join(dir, 'webui/models/Stable-diffusion'), '/srv/comfy/models/checkpoints']);
  assert.deepEqual(paths.loras, [join(dir, 'webui/models/Lora'), join(dir, 'webui/models/LyCORIS')]);
  assert.deepEqual(paths.upscale_models, [join(dir, 'webui/models/ESRGAN'), join(dir, 'webui/models/RealESRGAN')]);
  assert.deepEqual(paths.controlnet, ['/abs/controlnet']);
  assert.equal(paths.is_default, undefined);
  assert.equal(paths.base_path, undefined);
});

test('an empty file and commented-out sections give no paths', () => {
  assert.deepEqual(readExtraModelPaths(yamlFile('# nothing here\n').file), {});
  assert.deepEqual(readExtraModelPaths(yamlFile('comfyui:\n').file), {});
});

test('malformed files are refused naming the file and the entry', () => {
  const bad = yamlFile('comfyui:\n  checkpoints: [a, b]\n').file;
  assert.throws(() => readExtraModelPaths(bad), (e: Error) => e instanceof ExtraModelPathsError && e.message.includes(bad) && e.message.includes('comfyui.checkpoints'));
  assert.throws(() => readExtraModelPaths(yamlFile('- a\n- b\n').file), ExtraModelPathsError);
  assert.throws(() => readExtraModelPaths(yamlFile('a: [unclosed\n').file), ExtraModelPathsError);
});
