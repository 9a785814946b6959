// The face region a recognition net reads: a square around the 68 landmarks, turned so that the
// eyes lie level, resampled bilinearly (edge pixels repeat outside the image). Pure arithmetic on
// 8-bit RGB pixels; the nets' own value scaling is applied by recognition.ts.
import type { Point, RgbPixels } from './face-api.ts';

export interface AlignedSquare {
  /** Centre of the square in the source pixels. */
  centre: Point;
  /** Side of the square in source pixels. */
  side: number;
  /** Rotation that levels the eyes, radians (positive = the right-hand eye lies lower). */
  angle: number;
}

const mean = (points: Point[]): Point => ({
  x: points.reduce((s, p) => s + p.x, 0) / points.length,
  y: points.reduce((s, p) => s + p.y, 0) / points.length,
});

/**
 * The landmarks' bounding box (jaw, brows: about what MTCNN, the detector the HSE FaceRes model
 * was trained with, reports) measured in the eye-levelled frame, made square on its longer side
 * and widened by `margin` of that side on each side.
 */
export function alignedSquare(landmarks: Point[], margin: number): AlignedSquare {
  if (landmarks.length !== 68) throw new Error(`expected 68 face landmarks, got ${landmarks.length}`);
  const rightEye = mean(landmarks.slice(36, 42)); // the subject's right eye: left in the image
  const leftEye = mean(landmarks.slice(42, 48));
  const angle = Math.atan2(leftEye.y - rightEye.y, leftEye.x - rightEye.x);
  const cos = Math.cos(angle), sin = Math.sin(angle);
  // Rotate into the levelled frame (by -angle), take the box there, and map its centre back.
  const levelled = landmarks.map((p) => ({ x: p.x * cos + p.y * sin, y: -p.x * sin + p.y * cos }));
  const xs = levelled.map((p) => p.x), ys = levelled.map((p) => p.y);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const cx = (minX + maxX) / 2, cy = (minY + maxY) / 2;
  const centre = { x: cx * cos - cy * sin, y: cx * sin + cy * cos };
  const side = Math.max(maxX - minX, maxY - minY) * (1 + 2 * margin);
  return { centre, side, angle };
}

/**
 * size×size RGB values 0..255 (interleaved, row-major) of the rotated square, bilinear, with
 * coordinates clamped to the image (edge pixels repeat). When shrinking, each output pixel
 * averages floor(step)² bilinear samples (step = source pixels per output pixel) against aliasing.
 */
export function sampleAlignedSquare(pixels: RgbPixels, square: AlignedSquare, size: number): Float32Array {
  const { data, width, height } = pixels;
  const out = new Float32Array(size * size * 3);
  const step = square.side / size; // source pixels per output pixel
  const factor = Math.max(1, Math.floor(step)); // samples per axis and output pixel
  const cos = Math.cos(square.angle), sin = Math.sin(square.angle);
  const half = square.side / 2;
  const sample = (x: number, y: number, channel: number): number => {
    const cx = Math.min(Math.max(x, 0), width - 1), cy = Math.min(Math.max(y, 0), height - 1);
    const x0 = Math.floor(cx), y0 = Math.floor(cy);
    const x1 = Math.min(x0 + 1, width - 1), y1 = Math.min(y0 + 1, height - 1);
    const fx = cx - x0, fy = cy - y0;
    const at = (px: number, py: number): number => data[(py * width + px) * 3 + channel];
    return (at(x0, y0) * (1 - fx) + at(x1, y0) * fx) * (1 - fy) + (at(x0, y1) * (1 - fx) + at(x1, y1) * fx) * fy;
  };
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      for (let channel = 0; channel < 3; channel++) {
        let sum = 0;
        for (let sy = 0; sy < factor; sy++) {
          for (let sx = 0; sx < factor; sx++) {
            // Position in the square's own frame (origin at its centre), then into the image.
            const u = (col + (sx + 0.5) / factor) * step - half;
            const v = (row + (sy + 0.5) / factor) * step - half;
            sum += sample(square.centre.x + u * cos - v * sin - 0.5, square.centre.y + u * sin + v * cos - 0.5, channel);
          }
        }
        out[(row * size + col) * 3 + channel] = sum / (factor * factor);
      }
    }
  }
  return out;
}
