// Test photos for engine/face and nodes/face: regions of the group photos that
// @vladmandic/face-api ships in demo/ (MIT, like the package), read from node_modules.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { decodeImage } from '../image/index.ts';
import type { ImageBatch } from '../image/index.ts';

const demoFolder = join(dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo');

export interface PhotoRegion {
  /** demo/sample<n>.jpg; all are 1920 px wide group photos. */
  sample: number;
  left: number;
  top: number;
  width: number;
  height: number;
  /** Where the face's detector box lies in the full sample (for checking results). */
  face: { x: number; y: number; width: number; height: number };
}

/** Three different women, each alone in her region (no other face reaches into it). */
export const PHOTOS = {
  clown: { sample: 1, left: 200, top: 150, width: 600, height: 600, face: { x: 414, y: 353, width: 176, height: 239 } },
  smiling: { sample: 1, left: 1280, top: 40, width: 600, height: 600, face: { x: 1476, y: 199, width: 202, height: 240 } },
  blond: { sample: 3, left: 340, top: 130, width: 600, height: 600, face: { x: 585, y: 327, width: 200, height: 273 } },
} satisfies Record<string, PhotoRegion>;

export function samplePath(sample: number): string {
  return join(demoFolder, `sample${sample}.jpg`);
}

/** A whole sample photo as IMAGE. */
export async function loadSample(sample: number): Promise<ImageBatch> {
  return (await decodeImage(await sharp(samplePath(sample)).png().toBuffer())).image;
}

/** A region as IMAGE; `edit` may change it further (flip, resize, grayscale, extend...). */
export async function loadPhoto(region: PhotoRegion, edit: (photo: Sharp) => Sharp = (photo) => photo): Promise<ImageBatch> {
  const { left, top, width, height } = region;
  const cropped = await sharp(samplePath(region.sample)).extract({ left, top, width, height }).png().toBuffer();
  const png = await edit(sharp(cropped)).png().toBuffer();
  return (await decodeImage(png)).image;
}

/** Stacks same-sized IMAGEs into one batch. */
export function stackImages(images: ImageBatch[]): ImageBatch {
  const [first] = images;
  const data = new Float32Array(images.reduce((n, image) => n + image.data.length, 0));
  let offset = 0;
  for (const image of images) {
    if (image.width !== first.width || image.height !== first.height) throw new Error('stackImages needs images of one size');
    data.set(image.data, offset);
    offset += image.data.length;
  }
  return { batch: images.length, height: first.height, width: first.width, channels: 3, data };
}
