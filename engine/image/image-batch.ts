// IMAGE and MASK as ComfyUI passes them between nodes: a batch of NHWC float32 pixels in 0..1
// (IMAGE, RGB) and a batch of HW float32 values (MASK, 1 = masked).

export interface ImageBatch {
  batch: number;
  height: number;
  width: number;
  channels: 3;
  /** [batch, height, width, 3], row-major. */
  data: Float32Array;
}

export interface MaskBatch {
  batch: number;
  height: number;
  width: number;
  /** [batch, height, width], row-major. */
  data: Float32Array;
}

export function makeImageBatch(batch: number, height: number, width: number, data?: Float32Array): ImageBatch {
  const size = batch * height * width * 3;
  if (data && data.length !== size) {
    throw new Error(`image data has ${data.length} values, ${batch}x${height}x${width}x3 needs ${size}`);
  }
  return { batch, height, width, channels: 3, data: data ?? new Float32Array(size) };
}

export function makeMaskBatch(batch: number, height: number, width: number, data?: Float32Array): MaskBatch {
  const size = batch * height * width;
  if (data && data.length !== size) {
    throw new Error(`mask data has ${data.length} values, ${batch}x${height}x${width} needs ${size}`);
  }
  return { batch, height, width, data: data ?? new Float32Array(size) };
}
