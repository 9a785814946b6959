// Image nodes of ComfyUI's core (comfyui-api.md §7.1): LoadImage, SaveImage, PreviewImage and
// ImageScale. Glue only: decoding, PNG metadata, naming and resizing live in engine/image and
// engine/files.
import { createHash, randomInt } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defineNode } from '../engine/graph/index.ts';
import type { DefinitionEnv, Folders, NodeContext, NodeDefinition, NodeResult } from '../engine/graph/index.ts';
import { decodeImage, encodePng, scaleImage, resizeImage, roundHalfEven, toPythonJson, SCALE_METHODS, CROP_MODES } from '../engine/image/index.ts';
import type { ImageBatch, JsonPath, ScaleMethod, CropMode } from '../engine/image/index.ts';
import { resolveInside, parseAnnotatedName, nextCounterFilename, openSaveJournal, expandPrefixTokens, writeFileAtomic, UnsafePathError } from '../engine/files/index.ts';

const MAX_RESOLUTION = 16384;

// Formats the bundled sharp (libvips) decodes; ComfyUI lists by MIME type, Pillow reads more.
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.jfif', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif']);

function isImageName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && IMAGE_EXTENSIONS.has(name.slice(dot).toLowerCase());
}

/** Image files at the top level of the input folder, sorted (symlinks to files count). */
export function listInputImages(folders: Folders): string[] {
  let names: string[];
  try {
    names = readdirSync(folders.input);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names.filter((name) => isImageName(name) && statSync(join(folders.input, name), { throwIfNoEntry: false })?.isFile()).sort();
}

/** Absolute path of a LoadImage value ("a.png", "sub/a.png", "a.png [output]"), confined to
 *  the folder it names. Throws UnsafePathError. */
export function resolveImageInput(value: string, folders: Folders): string {
  const { name, folder } = parseAnnotatedName(value);
  return resolveInside(folders[folder ?? 'input'], name);
}

async function checkImageInput(inputs: Partial<Record<string, unknown>>, env: DefinitionEnv): Promise<true | string> {
  const value = inputs.image;
  if (typeof value !== 'string') return `Invalid image file: ${String(value)}`;
  try {
    const info = await stat(resolveImageInput(value, env.folders));
    return info.isFile() ? true : `Invalid image file: ${value}`;
  } catch (error) {
    if (error instanceof UnsafePathError) return `Invalid image file: ${value} (${error.message})`;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return `Invalid image file: ${value}`;
    throw error;
  }
}

export const loadImage = defineNode({
  name: 'LoadImage',
  displayName: 'Load Image',
  category: 'image',
  description: 'Loads an image from the input folder as IMAGE, with its alpha channel inverted as MASK.',
  inputs: {
    required: { image: { kind: 'COMBO', options: (env: DefinitionEnv) => listInputImages(env.folders), imageUpload: true, source: (env: DefinitionEnv) => `the input folder ${env.folders.input}` } },
  },
  outputs: [{ type: 'IMAGE' }, { type: 'MASK' }],
  validate: { inputs: ['image'], check: checkImageInput },
  // ComfyUI's IS_CHANGED: the file's SHA-256, so replacing the file re-runs the node.
  async fingerprint(inputs, env) {
    const path = resolveImageInput(String(inputs.image), env.folders);
    return createHash('sha256').update(await readFile(path)).digest('hex');
  },
  async run({ image }, ctx) {
    const bytes = await readFile(resolveImageInput(image, ctx.folders));
    const decoded = await decodeImage(bytes, { label: `Image file "${image}"` });
    return { outputs: [decoded.image, decoded.mask] };
  },
});

interface SaveTarget {
  folder: string;
  type: 'output' | 'temp';
  prefix: string;
  compressionLevel: number;
}

/** ComfyUI coerces FLOAT inputs to Python floats before saving, so `cfg: 8` is written `8.0`:
 *  a prompt path [node id, "inputs", name] is a float when the node's declared input is FLOAT. */
function promptFloatPaths(prompt: Record<string, unknown>, ctx: NodeContext): (path: JsonPath) => boolean {
  return (path) => {
    if (path.length !== 3 || path[1] !== 'inputs') return false;
    const node = prompt[String(path[0])] as { class_type?: unknown } | undefined;
    return typeof node?.class_type === 'string' && ctx.inputSpec(node.class_type, String(path[2]))?.kind === 'FLOAT';
  };
}

/** PNG text chunks as ComfyUI writes them (§5.4): "prompt", then one per extra_pnginfo key. */
function metadataChunks(prompt: Record<string, unknown> | undefined, extraPngInfo: Record<string, unknown> | undefined, ctx: NodeContext): Array<[string, string]> {
  const chunks: Array<[string, string]> = [];
  if (prompt !== undefined) chunks.push(['prompt', toPythonJson(prompt, { isFloat: promptFloatPaths(prompt, ctx) })]);
  for (const [key, value] of Object.entries(extraPngInfo ?? {})) chunks.push([key, toPythonJson(value)]);
  return chunks;
}

async function saveImages(images: ImageBatch, target: SaveTarget, text: Array<[string, string]>, ctx: NodeContext): Promise<NodeResult> {
  const saved: Array<{ filename: string; subfolder: string; type: string }> = [];
  const prefix = expandPrefixTokens(target.prefix, { width: images.width, height: images.height, now: new Date() });
  // Outputs (not the temp folder, emptied at startup): a rerun after a crash overwrites its own files.
  const journal = target.type === 'output' && ctx.promptId !== undefined ? await openSaveJournal(target.folder, ctx.promptId, ctx.nodeId) : undefined;
  for (let index = 0; index < images.batch; index++) {
    ctx.throwIfInterrupted();
    const allocate = () => nextCounterFilename(target.folder, prefix.replaceAll('%batch_num%', String(index)), 'png');
    const name = journal ? await journal.nameFor(index, allocate) : await allocate();
    const png = await encodePng(images, index, { text, compressionLevel: target.compressionLevel });
    await writeFileAtomic(name.path, png);
    saved.push({ filename: name.filename, subfolder: name.subfolder, type: target.type });
  }
  return { outputs: [], ui: { images: saved } };
}

export const saveImage = defineNode({
  name: 'SaveImage',
  displayName: 'Save Image',
  category: 'image',
  description: 'Saves the input images as PNG files, with the workflow embedded, into the output folder.',
  inputs: {
    required: {
      images: { kind: 'LINK', type: 'IMAGE', tooltip: 'The images to save.' },
      filename_prefix: {
        kind: 'STRING',
        default: 'ComfyUI',
        tooltip: 'Start of the file names; may contain subfolders ("portraits/face") and %width%, %height%, %year%, %month%, %day%, %hour%, %minute%, %second%, %batch_num%.',
      },
    },
    hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
  },
  outputs: [],
  outputNode: true,
  async run({ images, filename_prefix, prompt, extra_pnginfo }, ctx) {
    const target: SaveTarget = { folder: ctx.folders.output, type: 'output', prefix: filename_prefix, compressionLevel: 4 };
    return saveImages(images, target, metadataChunks(prompt, extra_pnginfo, ctx), ctx);
  },
});

/** ComfyUI_temp_ + five random lowercase letters, as PreviewImage names its files. */
function previewPrefix(): string {
  const letters = Array.from({ length: 5 }, () => String.fromCharCode(97 + randomInt(26)));
  return `ComfyUI_temp_${letters.join('')}`;
}

export const previewImage = defineNode({
  name: 'PreviewImage',
  displayName: 'Preview Image',
  category: 'image',
  description: 'Shows the input images in the editor; the files go to the temp folder, which is emptied at startup.',
  inputs: {
    required: { images: { kind: 'LINK', type: 'IMAGE', tooltip: 'The images to preview.' } },
    hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
  },
  outputs: [],
  outputNode: true,
  async run({ images, prompt, extra_pnginfo }, ctx) {
    const target: SaveTarget = { folder: ctx.folders.temp, type: 'temp', prefix: previewPrefix(), compressionLevel: 1 };
    return saveImages(images, target, metadataChunks(prompt, extra_pnginfo, ctx), ctx);
  },
});

export const imageScale = defineNode({
  name: 'ImageScale',
  displayName: 'Upscale Image',
  category: 'image/upscaling',
  description: 'Resizes images to a width and height; 0 for one side keeps the aspect ratio, 0 for both leaves the images as they are.',
  inputs: {
    required: {
      image: { kind: 'LINK', type: 'IMAGE' },
      upscale_method: { kind: 'COMBO', options: SCALE_METHODS },
      width: { kind: 'INT', default: 512, min: 0, max: MAX_RESOLUTION, step: 1 },
      height: { kind: 'INT', default: 512, min: 0, max: MAX_RESOLUTION, step: 1 },
      crop: { kind: 'COMBO', options: CROP_MODES },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image, upscale_method, width, height, crop }) {
    // Validation has checked the COMBO values against the same lists.
    const scaled = scaleImage(image, { width, height, method: upscale_method as ScaleMethod, crop: crop as CropMode });
    return { outputs: [scaled] };
  },
});

export const imageScaleBy = defineNode({
  name: 'ImageScaleBy',
  displayName: 'Upscale Image By',
  category: 'image/upscaling',
  description: 'Resizes images by a factor (each side rounded).',
  inputs: {
    required: {
      image: { kind: 'LINK', type: 'IMAGE' },
      upscale_method: { kind: 'COMBO', options: SCALE_METHODS },
      scale_by: { kind: 'FLOAT', default: 1.0, min: 0.01, max: 8.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image, upscale_method, scale_by }) {
    const width = roundHalfEven(image.width * scale_by);
    const height = roundHalfEven(image.height * scale_by);
    if (width < 1 || height < 1) throw new Error(`scale_by ${scale_by} shrinks the ${image.width}×${image.height} image to nothing`);
    return { outputs: [resizeImage(image, width, height, upscale_method as ScaleMethod, 'disabled')] };
  },
});

export const imageNodes: readonly NodeDefinition[] = [loadImage, saveImage, previewImage, imageScale, imageScaleBy];
