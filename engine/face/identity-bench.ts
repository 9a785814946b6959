// Identity benchmark: the FaceRes feature and face-api's old descriptor on every face of the
// photos the npm packages ship (identity-photos.ts), with pair labels, summarised per group.
// Used by descriptor.test.ts; run directly (node --import tsx engine/face/identity-bench.ts)
// it prints the table of README.md.
import { pathToFileURL } from 'node:url';
import { computeRawDescriptor } from './face-api.ts';
import { detectorInput, detectInputFaces } from './detect.ts';
import { faceResFeature, faceSimilarity } from './descriptor.ts';
import { authorPhotos } from './identity-photos.ts';
import { loadSample } from './test-photos.ts';

export interface MeasuredFace {
  name: string;
  /** 'author' for every photo of the man; 'sample<n>' for a face in face-api's group photo n. */
  source: string;
  /** Identity label where it is known: 'author', 'woman-A' (two photos, judged by eye), else
   *  the face's own name (a person seen once, as far as we can tell). */
  person: string;
  faceRes: Float32Array;
  faceApi: Float32Array;
}

export type PairKind = 'same' | 'different' | 'unknown';

/**
 * same: both photos show the author, or both show woman A.
 * different (certain): the author and a woman, or two faces in one group photo.
 * unknown: women in different group photos — the packages do not say who they are, and at
 * least one such pair (woman A) is one person, so these pairs are reported but not labelled.
 */
export function pairKind(a: MeasuredFace, b: MeasuredFace): PairKind {
  if (a.person === b.person) return 'same';
  if (a.source === 'author' || b.source === 'author' || a.source === b.source) return 'different';
  return 'unknown';
}

/** Woman A: the face whose detector box starts near this x in face-api's sample1.jpg / sample3.jpg. */
const WOMAN_A: Record<string, number> = { sample1: 1476, sample3: 1074 };

export async function measureIdentity(): Promise<{ faces: MeasuredFace[]; missed: string[] }> {
  const faces: MeasuredFace[] = [];
  const missed: string[] = [];
  for (const photo of await authorPhotos()) {
    const input = await detectorInput(photo.image, 0);
    const [face] = await detectInputFaces(input);
    if (!face) {
      missed.push(photo.name);
      continue;
    }
    faces.push({ name: photo.name, source: 'author', person: 'author', faceRes: await faceResFeature(input.pixels, face), faceApi: await computeRawDescriptor(input.pixels, face.alignedBox) });
  }
  for (let sample = 1; sample <= 6; sample++) {
    const source = `sample${sample}`;
    const input = await detectorInput(await loadSample(sample), 0);
    for (const face of await detectInputFaces(input)) {
      const x = Math.round(face.box.x / input.scaleX);
      const name = `${source}@${x}`;
      const isWomanA = WOMAN_A[source] !== undefined && Math.abs(WOMAN_A[source] - x) < 20;
      faces.push({ name, source, person: isWomanA ? 'woman-A' : name, faceRes: await faceResFeature(input.pixels, face), faceApi: await computeRawDescriptor(input.pixels, face.alignedBox) });
    }
  }
  return { faces, missed };
}

export interface PairScore {
  a: string;
  b: string;
  kind: PairKind;
  /** Which pairs: 'author', 'woman-A', 'author–woman', 'same photo', 'other photos'. */
  group: string;
  faceRes: number;
  faceApi: number;
}

export function pairScores(faces: MeasuredFace[]): PairScore[] {
  const pairs: PairScore[] = [];
  for (let i = 0; i < faces.length; i++) {
    for (let j = i + 1; j < faces.length; j++) {
      const [a, b] = [faces[i], faces[j]];
      const kind = pairKind(a, b);
      const group = kind === 'same' ? a.person
        : a.source === 'author' || b.source === 'author' ? 'author–woman'
          : a.source === b.source ? 'same photo' : 'other photos';
      pairs.push({ a: a.name, b: b.name, kind, group, faceRes: faceSimilarity(a.faceRes, b.faceRes).cosine, faceApi: faceSimilarity(a.faceApi, b.faceApi).cosine });
    }
  }
  return pairs;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function row(label: string, pairs: PairScore[]): string {
  const cell = (values: number[]): string => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)} (median ${median(values).toFixed(2)})`;
  return `| ${label} | ${pairs.length} | ${cell(pairs.map((p) => p.faceApi))} | ${cell(pairs.map((p) => p.faceRes))} |`;
}

async function main(): Promise<void> {
  const started = Date.now();
  const { faces, missed } = await measureIdentity();
  const pairs = pairScores(faces);
  const group = (name: string): PairScore[] => pairs.filter((p) => p.group === name);
  console.log(`${faces.length} faces (${faces.filter((f) => f.source === 'author').length} of the author; no face found in ${missed.join(', ') || 'none'}), ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log('| pairs | n | face-api 128-d, cosine | FaceRes 1024-d, cosine |\n|---|---|---|---|');
  console.log(row('same person: the author, photo vs photo', group('author')));
  console.log(row('same person (judged by eye): woman A, sample1 vs sample3', group('woman-A')));
  console.log(row('different: the author vs each woman', group('author–woman')));
  console.log(row('different: two women in one group photo', group('same photo')));
  console.log(row('unlabelled: women in different group photos', group('other photos')));
  for (const key of ['faceApi', 'faceRes'] as const) {
    const same = pairs.filter((p) => p.kind === 'same').map((p) => p[key]);
    const different = pairs.filter((p) => p.kind === 'different').map((p) => p[key]);
    const highest = pairs.filter((p) => p.kind === 'different').sort((x, y) => y[key] - x[key]).slice(0, 3).map((p) => `${p.a}/${p.b} ${p[key].toFixed(3)}`);
    const lowest = pairs.filter((p) => p.kind === 'same').sort((x, y) => x[key] - y[key]).slice(0, 3).map((p) => `${p.a}/${p.b} ${p[key].toFixed(3)}`);
    console.log(`${key}: same ≥ ${Math.min(...same).toFixed(3)} (lowest ${lowest.join(', ')}); different ≤ ${Math.max(...different).toFixed(3)} (highest ${highest.join(', ')}); different pairs ≥ the lowest same pair: ${different.filter((d) => d >= Math.min(...same)).length} of ${different.length}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(() => process.exit(0), (error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
