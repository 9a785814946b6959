// Test data: writes an SD1.5-architecture single-file (LDM layout) checkpoint with seeded random weights —
// UNet, VAE, CLIP-L text encoder, position_ids and the DDPM buffers — streaming tensor by tensor (the
// full fp16 file is ~2.1 GB and never held in memory). Key layout: sd15-reference.md §2.2.
// Usage: node --import tsx models/generate-random-checkpoint.ts --size full|tiny --dtype fp16|fp32 --out PATH [--seed N]
//        [--kind checkpoint|controlnet] (a ControlNet for that size's UNet, diffusers names)
import { openSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SD15_UNET } from '../engine/sd/checkpoint/config.ts';
import type { UnetConfig, VaeConfig, ClipTextConfig } from '../engine/sd/checkpoint/config.ts';
import { unetLdmKeys, vaeLdmKeys, clipLdmKeys, LDM_CLIP_PREFIX } from '../engine/sd/checkpoint/key-map.ts';
import { f32ToF16 } from '../engine/onnx/half.ts';

export interface Sizes { unet: UnetConfig; vae: VaeConfig; clip: ClipTextConfig }

const SD15_VAE: VaeConfig = { inChannels: 3, blockOutChannels: [128, 256, 512, 512], layersPerBlock: 2, latentChannels: 4, normGroups: 32, scalingFactor: 0.18215 };
const CLIP_L: ClipTextConfig = { vocabSize: 49408, hiddenSize: 768, layers: 12, heads: 12, intermediateSize: 3072, maxPositions: 77, layerNormEps: 1e-5 };

/** The full SD1.5 sizes, and those of test/fixtures/sd15-tiny (config.json). */
export const SIZES: Record<'full' | 'tiny', Sizes> = {
  full: { unet: SD15_UNET, vae: SD15_VAE, clip: CLIP_L },
  tiny: {
    unet: { ...SD15_UNET, blockOutChannels: [32, 32, 64, 64], crossAttentionDim: 32, timeEmbedDim: 128 },
    vae: { ...SD15_VAE, blockOutChannels: [32, 32, 64, 64] },
    clip: { ...CLIP_L, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 64 },
  },
};

/** How a parameter is initialised (as the fixture's README describes, with uniform noise of the same variance). */
type Init = 'norm-weight' | 'bias' | 'fan-in' | 'embedding' | 'position-embedding';

export interface Param { name: string; shape: number[]; init: Init }

// ---------- parameters under diffusers / Hugging Face names ----------

function norm(out: Param[], name: string, c: number): void {
  out.push({ name: `${name}.weight`, shape: [c], init: 'norm-weight' }, { name: `${name}.bias`, shape: [c], init: 'bias' });
}

function dense(out: Param[], name: string, shape: number[], bias = true): void {
  out.push({ name: `${name}.weight`, shape, init: 'fan-in' });
  if (bias) out.push({ name: `${name}.bias`, shape: [shape[0]], init: 'bias' });
}

function resnet(out: Param[], name: string, cin: number, cout: number, temb: number | null): void {
  norm(out, `${name}.norm1`, cin);
  dense(out, `${name}.conv1`, [cout, cin, 3, 3]);
  if (temb !== null) dense(out, `${name}.time_emb_proj`, [cout, temb]);
  norm(out, `${name}.norm2`, cout);
  dense(out, `${name}.conv2`, [cout, cout, 3, 3]);
  if (cin !== cout) dense(out, `${name}.conv_shortcut`, [cout, cin, 1, 1]);
}

function transformer(out: Param[], name: string, c: number, context: number): void {
  norm(out, `${name}.norm`, c);
  dense(out, `${name}.proj_in`, [c, c, 1, 1]);
  const block = `${name}.transformer_blocks.0`;
  for (const [attn, kv] of [['attn1', c], ['attn2', context]] as const) {
    dense(out, `${block}.${attn}.to_q`, [c, c], false);
    dense(out, `${block}.${attn}.to_k`, [c, kv], false);
    dense(out, `${block}.${attn}.to_v`, [c, kv], false);
    dense(out, `${block}.${attn}.to_out.0`, [c, c]);
  }
  for (const n of ['norm1', 'norm2', 'norm3']) norm(out, `${block}.${n}`, c);
  dense(out, `${block}.ff.net.0.proj`, [8 * c, c]);
  dense(out, `${block}.ff.net.2`, [c, 4 * c]);
  dense(out, `${name}.proj_out`, [c, c, 1, 1]);
}

/** UNet2DConditionModel parameters (channel bookkeeping as diffusers' UNet2DConditionModel.__init__). */
export function unetParams(u: UnetConfig): Param[] {
  const out: Param[] = [];
  const widths = u.blockOutChannels;
  const last = widths.length - 1;
  dense(out, 'time_embedding.linear_1', [u.timeEmbedDim, widths[0]]);
  dense(out, 'time_embedding.linear_2', [u.timeEmbedDim, u.timeEmbedDim]);
  dense(out, 'conv_in', [widths[0], u.inChannels, 3, 3]);
  widths.forEach((c, i) => {
    for (let j = 0; j < u.layersPerBlock; j++) {
      resnet(out, `down_blocks.${i}.resnets.${j}`, j === 0 ? widths[Math.max(i - 1, 0)] : c, c, u.timeEmbedDim);
      if (u.attentionLevels[i]) transformer(out, `down_blocks.${i}.attentions.${j}`, c, u.crossAttentionDim);
    }
    if (i < last) dense(out, `down_blocks.${i}.downsamplers.0.conv`, [c, c, 3, 3]);
  });
  resnet(out, 'mid_block.resnets.0', widths[last], widths[last], u.timeEmbedDim);
  transformer(out, 'mid_block.attentions.0', widths[last], u.crossAttentionDim);
  resnet(out, 'mid_block.resnets.1', widths[last], widths[last], u.timeEmbedDim);
  const reversed = [...widths].reverse();
  reversed.forEach((c, i) => {
    const prev = reversed[Math.max(i - 1, 0)];
    const skipIn = reversed[Math.min(i + 1, last)];
    for (let j = 0; j <= u.layersPerBlock; j++) {
      const skip = j === u.layersPerBlock ? skipIn : c;
      resnet(out, `up_blocks.${i}.resnets.${j}`, (j === 0 ? prev : c) + skip, c, u.timeEmbedDim);
      if (u.attentionLevels[last - i]) transformer(out, `up_blocks.${i}.attentions.${j}`, c, u.crossAttentionDim);
    }
    if (i < last) dense(out, `up_blocks.${i}.upsamplers.0.conv`, [c, c, 3, 3]);
  });
  norm(out, 'conv_norm_out', widths[0]);
  dense(out, 'conv_out', [u.outChannels, widths[0], 3, 3]);
  return out;
}

/**
 * ControlNetModel parameters (diffusers names): the UNet's encoder half, the hint encoder
 * (controlnet_cond_embedding, SD1.5 widths 16/32/96/256) and one zero convolution per skip plus the mid one.
 */
export function controlnetParams(u: UnetConfig, hintWidths = [16, 32, 96, 256]): Param[] {
  const encoder = unetParams(u).filter((p) => /^(time_embedding|conv_in|down_blocks|mid_block)\./.test(p.name));
  const out: Param[] = [...encoder];
  dense(out, 'controlnet_cond_embedding.conv_in', [hintWidths[0], 3, 3, 3]);
  hintWidths.slice(0, -1).forEach((c, i) => {
    dense(out, `controlnet_cond_embedding.blocks.${2 * i}`, [c, c, 3, 3]);
    dense(out, `controlnet_cond_embedding.blocks.${2 * i + 1}`, [hintWidths[i + 1], c, 3, 3]);
  });
  dense(out, 'controlnet_cond_embedding.conv_out', [u.blockOutChannels[0], hintWidths[hintWidths.length - 1], 3, 3]);
  const widths = u.blockOutChannels;
  const skips = [widths[0], ...widths.flatMap((c, i) => [...Array(u.layersPerBlock).fill(c), ...(i < widths.length - 1 ? [c] : [])])];
  skips.forEach((c, k) => dense(out, `controlnet_down_blocks.${k}`, [c, c, 1, 1]));
  dense(out, 'controlnet_mid_block', [widths[widths.length - 1], widths[widths.length - 1], 1, 1]);
  return out;
}

function vaeMid(out: Param[], name: string, c: number): void {
  resnet(out, `${name}.resnets.0`, c, c, null);
  norm(out, `${name}.attentions.0.group_norm`, c);
  for (const p of ['to_q', 'to_k', 'to_v', 'to_out.0']) dense(out, `${name}.attentions.0.${p}`, [c, c]);
  resnet(out, `${name}.resnets.1`, c, c, null);
}

/** AutoencoderKL parameters. */
export function vaeParams(v: VaeConfig): Param[] {
  const out: Param[] = [];
  const widths = v.blockOutChannels;
  const last = widths.length - 1;
  dense(out, 'encoder.conv_in', [widths[0], v.inChannels, 3, 3]);
  widths.forEach((c, i) => {
    for (let j = 0; j < v.layersPerBlock; j++) resnet(out, `encoder.down_blocks.${i}.resnets.${j}`, j === 0 ? widths[Math.max(i - 1, 0)] : c, c, null);
    if (i < last) dense(out, `encoder.down_blocks.${i}.downsamplers.0.conv`, [c, c, 3, 3]);
  });
  vaeMid(out, 'encoder.mid_block', widths[last]);
  norm(out, 'encoder.conv_norm_out', widths[last]);
  dense(out, 'encoder.conv_out', [2 * v.latentChannels, widths[last], 3, 3]);
  dense(out, 'quant_conv', [2 * v.latentChannels, 2 * v.latentChannels, 1, 1]);
  dense(out, 'post_quant_conv', [v.latentChannels, v.latentChannels, 1, 1]);
  dense(out, 'decoder.conv_in', [widths[last], v.latentChannels, 3, 3]);
  vaeMid(out, 'decoder.mid_block', widths[last]);
  const reversed = [...widths].reverse();
  reversed.forEach((c, i) => {
    for (let j = 0; j <= v.layersPerBlock; j++) resnet(out, `decoder.up_blocks.${i}.resnets.${j}`, j === 0 ? reversed[Math.max(i - 1, 0)] : c, c, null);
    if (i < last) dense(out, `decoder.up_blocks.${i}.upsamplers.0.conv`, [c, c, 3, 3]);
  });
  norm(out, 'decoder.conv_norm_out', widths[0]);
  dense(out, 'decoder.conv_out', [v.inChannels, widths[0], 3, 3]);
  return out;
}

/** CLIPTextModel parameters (Hugging Face names). */
export function clipParams(c: ClipTextConfig): Param[] {
  const out: Param[] = [
    { name: 'text_model.embeddings.token_embedding.weight', shape: [c.vocabSize, c.hiddenSize], init: 'embedding' },
    { name: 'text_model.embeddings.position_embedding.weight', shape: [c.maxPositions, c.hiddenSize], init: 'position-embedding' },
  ];
  for (let i = 0; i < c.layers; i++) {
    const layer = `text_model.encoder.layers.${i}`;
    norm(out, `${layer}.layer_norm1`, c.hiddenSize);
    for (const p of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) dense(out, `${layer}.self_attn.${p}`, [c.hiddenSize, c.hiddenSize]);
    norm(out, `${layer}.layer_norm2`, c.hiddenSize);
    dense(out, `${layer}.mlp.fc1`, [c.intermediateSize, c.hiddenSize]);
    dense(out, `${layer}.mlp.fc2`, [c.hiddenSize, c.intermediateSize]);
  }
  norm(out, 'text_model.final_layer_norm', c.hiddenSize);
  return out;
}

// ---------- LDM names ----------

/** The upsampler sits at sub-index 2 after an attention, else 1 (sd15-reference.md §2.2). */
function unetKey(name: string, u: UnetConfig): string {
  const candidates = unetLdmKeys(name);
  const up = name.match(/^up_blocks\.(\d+)\.upsamplers\./);
  if (!up) return candidates[0];
  return u.attentionLevels[u.blockOutChannels.length - 1 - Number(up[1])] ? candidates[0] : candidates[1];
}

/** Every parameter under its LDM single-file key; LDM stores the VAE attention projections as 1×1 convs. */
export function ldmParams(sizes: Sizes): Param[] {
  const levels = sizes.vae.blockOutChannels.length;
  return [
    ...unetParams(sizes.unet).map((p) => ({ ...p, name: unetKey(p.name, sizes.unet) })),
    ...vaeParams(sizes.vae).map((p) => {
      const projection = /mid_block\.attentions\.0\.(to_q|to_k|to_v|to_out\.0)\.weight$/.test(p.name);
      return { ...p, name: vaeLdmKeys(p.name, levels)[0], shape: projection ? [...p.shape, 1, 1] : p.shape };
    }),
    ...clipParams(sizes.clip).map((p) => ({ ...p, name: clipLdmKeys(p.name)[0] })),
  ];
}

// ---------- values ----------

/** xorshift32 stream seeded from the seed and the tensor name (each tensor reproducible on its own). */
function uniformStream(seed: number, name: string): () => number {
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < name.length; i++) s = Math.imul(s ^ name.charCodeAt(i), 16777619) >>> 0;
  s ||= 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

/** Uniform noise with the variance of N(0, std²): U(−√3·std, √3·std). */
function valueFor(p: Param): { mean: number; std: number } {
  const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
  switch (p.init) {
    case 'norm-weight': return { mean: 1, std: 0.1 };
    case 'bias': return { mean: 0, std: 0.05 };
    case 'fan-in': return { mean: 0, std: 1 / Math.sqrt(fanIn) };
    case 'embedding': return { mean: 0, std: 1 };
    case 'position-embedding': return { mean: 0, std: 0.5 };
  }
}

/** The 12 DDPM buffers of the LDM training code for SD1.5's scaled-linear schedule (float64, stored F32). */
export function ddpmBuffers(): Record<string, Float64Array> {
  const n = 1000;
  const betas = Float64Array.from({ length: n }, (_, i) => (Math.sqrt(0.00085) + ((Math.sqrt(0.012) - Math.sqrt(0.00085)) * i) / (n - 1)) ** 2);
  const ac = new Float64Array(n);
  betas.forEach((b, i) => { ac[i] = (i === 0 ? 1 : ac[i - 1]) * (1 - b); });
  const prev = Float64Array.from({ length: n }, (_, i) => (i === 0 ? 1 : ac[i - 1]));
  const map = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
  const variance = map((i) => (betas[i] * (1 - prev[i])) / (1 - ac[i]));
  return {
    betas, alphas_cumprod: ac, alphas_cumprod_prev: prev,
    sqrt_alphas_cumprod: map((i) => Math.sqrt(ac[i])),
    sqrt_one_minus_alphas_cumprod: map((i) => Math.sqrt(1 - ac[i])),
    log_one_minus_alphas_cumprod: map((i) => Math.log(1 - ac[i])),
    sqrt_recip_alphas_cumprod: map((i) => Math.sqrt(1 / ac[i])),
    sqrt_recipm1_alphas_cumprod: map((i) => Math.sqrt(1 / ac[i] - 1)),
    posterior_variance: variance,
    posterior_log_variance_clipped: map((i) => Math.log(Math.max(variance[i], 1e-20))),
    posterior_mean_coef1: map((i) => (betas[i] * Math.sqrt(prev[i])) / (1 - ac[i])),
    posterior_mean_coef2: map((i) => ((1 - prev[i]) * Math.sqrt(1 - betas[i])) / (1 - ac[i])),
  };
}

// ---------- streaming writer ----------

type Entry = { name: string; dtype: 'F16' | 'F32' | 'I64'; shape: number[]; write: (emit: (bytes: Uint8Array) => void) => void };

const CHUNK = 1 << 20; // elements per write

function randomEntry(p: Param, dtype: 'F16' | 'F32', seed: number): Entry {
  return {
    name: p.name, dtype, shape: p.shape,
    write: (emit) => {
      const next = uniformStream(seed, p.name);
      const { mean, std } = valueFor(p);
      const half = Math.sqrt(3) * std;
      let left = p.shape.reduce((a, b) => a * b, 1);
      while (left > 0) {
        const n = Math.min(left, CHUNK);
        const values = dtype === 'F16' ? new Uint16Array(n) : new Float32Array(n);
        for (let i = 0; i < n; i++) {
          const v = mean + half * next();
          values[i] = dtype === 'F16' ? f32ToF16(v) : v;
        }
        emit(new Uint8Array(values.buffer));
        left -= n;
      }
    },
  };
}

/** Writes a .safetensors file entry by entry: header first (sizes are known up front), then each tensor's bytes. */
export function writeStreaming(path: string, entries: Entry[], metadata: Record<string, string>): number {
  const itemSize = { F16: 2, F32: 4, I64: 8 };
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const e of entries) {
    const length = e.shape.reduce((a, b) => a * b, 1) * itemSize[e.dtype];
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, prefix);
    writeSync(fd, Buffer.from(json));
    for (const e of entries) e.write((bytes) => { writeSync(fd, bytes); });
  } finally {
    closeSync(fd);
  }
  return 8 + Buffer.byteLength(json) + offset;
}

export interface GenerateOptions {
  size: 'full' | 'tiny';
  dtype: 'fp16' | 'fp32';
  out: string;
  seed: number;
  /** Other architecture numbers than `size`'s (tests of models unlike the fixture). */
  sizes?: Sizes;
}

/** Writes the checkpoint; returns its size in bytes. */
export function generateCheckpoint(o: GenerateOptions): number {
  const dtype = o.dtype === 'fp16' ? 'F16' : 'F32';
  const sizes = o.sizes ?? SIZES[o.size];
  const entries: Entry[] = ldmParams(sizes).map((p) => randomEntry(p, dtype, o.seed));
  entries.push({
    name: `${LDM_CLIP_PREFIX}text_model.embeddings.position_ids`, dtype: 'I64', shape: [1, 77],
    write: (emit) => emit(new Uint8Array(BigInt64Array.from({ length: 77 }, (_, i) => BigInt(i)).buffer)),
  });
  for (const [name, values] of Object.entries(ddpmBuffers())) {
    entries.push({ name, dtype: 'F32', shape: [values.length], write: (emit) => emit(new Uint8Array(Float32Array.from(values).buffer)) });
  }
  const bytes = writeStreaming(o.out, entries, { format: 'pt', generator: 'invgraph random test checkpoint', seed: String(o.seed), size: o.size });
  writeFileSync(join(dirname(o.out), `${basename(o.out, extname(o.out))}.yaml`), ldmYaml(sizes));
  return bytes;
}

/** Writes a random ControlNet for the UNet of `size` (diffusers names, one .safetensors); returns its size in bytes. */
export function generateControlnet(o: GenerateOptions): number {
  const dtype = o.dtype === 'fp16' ? 'F16' : 'F32';
  const sizes = o.sizes ?? SIZES[o.size];
  const entries = controlnetParams(sizes.unet).map((p) => randomEntry(p, dtype, o.seed));
  return writeStreaming(o.out, entries, { format: 'pt', generator: 'invgraph random test ControlNet', seed: String(o.seed), size: o.size });
}

/**
 * The LDM config beside the checkpoint (`<name>.yaml`): the numbers its weights cannot tell — UNet and
 * text-encoder heads (the latter an invgraph extension, needed for non-standard CLIP widths) and the latent scale.
 */
export function ldmYaml(sizes: Sizes): string {
  return [
    'model:',
    '  params:',
    `    scale_factor: ${sizes.vae.scalingFactor}`,
    '    unet_config:',
    '      params:',
    `        num_heads: ${sizes.unet.heads[0]}`,
    '    cond_stage_config:',
    '      params:',
    `        num_heads: ${sizes.clip.heads}`,
    '',
  ].join('\n');
}

function parseArgs(argv: string[]): GenerateOptions & { kind: 'checkpoint' | 'controlnet' } {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) args.set(argv[i].replace(/^--/, ''), argv[i + 1]);
  const size = args.get('size') ?? 'full';
  const dtype = args.get('dtype') ?? 'fp16';
  const out = args.get('out');
  const seed = Number(args.get('seed') ?? 0);
  const kind = args.get('kind') ?? 'checkpoint';
  if ((size !== 'full' && size !== 'tiny') || (dtype !== 'fp16' && dtype !== 'fp32') || !out || !Number.isInteger(seed) || (kind !== 'checkpoint' && kind !== 'controlnet')) {
    throw new Error(`usage: generate-random-checkpoint.ts --size full|tiny --dtype fp16|fp32 --out PATH [--seed N] [--kind checkpoint|controlnet] (got ${argv.join(' ')})`);
  }
  return { size, dtype, out, seed, kind };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const options = parseArgs(process.argv.slice(2));
    const started = Date.now();
    const bytes = options.kind === 'controlnet' ? generateControlnet(options) : generateCheckpoint(options);
    console.log(JSON.stringify({ out: options.out, bytes, seconds: (Date.now() - started) / 1000 }));
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 2;
  }
}
