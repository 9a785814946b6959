// Which upscaler a weight file holds, told from its key names and shapes alone (as spandrel does for
// ComfyUI's UpscaleModelLoader), and the names its tensors have in that file. Two families:
//  - ESRGAN's RRDBNet in three key layouts: the original sequential one (`model.0.weight`,
//    `model.1.sub.0.RDB1.conv1.0.weight`, … as in 4x-UltraSharp), Real-ESRGAN / BasicSR's (`conv_first`,
//    `body.0.rdb1.conv1`, `conv_body`, `conv_up1`, `conv_hr`, `conv_last`, as in RealESRGAN_x4plus) and
//    BSRGAN / RealSR's (`RRDB_trunk.0.RDB1.conv1`, `trunk_conv`, `upconv1`, `HRconv`).
//  - Real-ESRGAN's SRVGGNetCompact (`body.N.weight`: convs at even N, PReLU slopes at odd N; realesr-general-x4v3).
// The graph builder reads weights by canonical names (the BasicSR ones); `fileKey` maps them to the file's.

export class UpscaleModelError extends Error {}

export interface EsrganArch {
  kind: 'esrgan';
  layout: 'original' | 'basicsr' | 'bsrgan';
  /** Feature channels (nf), growth channels of the dense blocks (gc), RRDB blocks (nb). */
  features: number;
  growth: number;
  blocks: number;
  /** Nearest 2× upsample + conv steps. */
  upsamples: number;
  /** Input channels of the first conv (3, or 12 / 48 after a pixel unshuffle) and output channels. */
  inChannels: number;
  outChannels: number;
  /** Real-ESRGAN x2 / x1 models take the image pixel-unshuffled by this factor (1 = not). */
  unshuffle: number;
  /** Output pixels per input pixel: 2^upsamples / unshuffle. */
  scale: number;
}

export interface CompactArch {
  kind: 'compact';
  features: number;
  /** Body convs between the first and the last (num_conv). */
  convs: number;
  inChannels: number;
  outChannels: number;
  unshuffle: 1;
  scale: number;
}

export type UpscaleArch = EsrganArch | CompactArch;

/** What the detector needs to know of each tensor. */
export type TensorShapes = ReadonlyMap<string, { shape: readonly number[] }>;

export interface DetectedUpscaler {
  arch: UpscaleArch;
  /** The file's key for a canonical weight name (`conv_first.weight`, `body.0.rdb1.conv1.bias`, `body.3.weight` …). */
  fileKey(name: string): string;
  /** Readable description for logs: "ESRGAN (RRDBNet, Real-ESRGAN keys) 4x, 64 features, 23 blocks". */
  description: string;
}

function shapeOf(tensors: TensorShapes, key: string): readonly number[] {
  return tensors.get(key)!.shape;
}

function indices(keys: string[], pattern: RegExp): number[] {
  return [...new Set(keys.map((k) => k.match(pattern)?.[1]).filter((x): x is string => x !== undefined).map(Number))].sort((a, b) => a - b);
}

function fail(path: string, what: string): never {
  throw new UpscaleModelError(`${path} ${what}`);
}

function esrgan(path: string, tensors: TensorShapes, layout: EsrganArch['layout']): DetectedUpscaler {
  const keys = [...tensors.keys()];
  if (keys.some((k) => k.includes('.conv1x1.'))) fail(path, 'is an ESRGAN+ model (RRDB blocks with conv1x1 layers), which invgraph does not run; supported: ESRGAN / Real-ESRGAN RRDBNet and SRVGGNetCompact');
  const blockPattern = { original: /^model\.1\.sub\.(\d+)\.RDB1\.conv1\.0\.weight$/, basicsr: /^body\.(\d+)\.rdb1\.conv1\.weight$/, bsrgan: /^RRDB_trunk\.(\d+)\.RDB1\.conv1\.weight$/ }[layout];
  const blocks = indices(keys, blockPattern).length;
  let upsamples: number;
  if (layout === 'original') {
    // model.0 conv, model.1 the RRDB trunk, then [upsample, conv, lrelu] per 2× step, then hr conv, lrelu, last conv.
    const last = Math.max(...indices(keys, /^model\.(\d+)\.weight$/));
    upsamples = (last - 4) / 3;
    if (!Number.isInteger(upsamples) || upsamples < 0) fail(path, `looks like an ESRGAN model in the original key layout, but its last layer is model.${last}, which fits no number of 2× upsampling steps`);
  } else {
    upsamples = indices(keys, layout === 'basicsr' ? /^conv_up(\d+)\.weight$/ : /^upconv(\d+)\.weight$/).length;
  }
  const lastUp = 3 * upsamples;
  const fileKey = (name: string): string => {
    const [, module, leaf] = name.match(/^(.*)\.(weight|bias)$/) ?? [];
    if (!module) return name;
    let m: RegExpMatchArray | null;
    if (layout === 'original') {
      if (module === 'conv_first') return `model.0.${leaf}`;
      if (module === 'conv_body') return `model.1.sub.${blocks}.${leaf}`;
      if ((m = module.match(/^body\.(\d+)\.rdb(\d)\.conv(\d)$/))) return `model.1.sub.${m[1]}.RDB${m[2]}.conv${m[3]}.0.${leaf}`;
      if ((m = module.match(/^conv_up(\d+)$/))) return `model.${3 * Number(m[1])}.${leaf}`;
      if (module === 'conv_hr') return `model.${lastUp + 2}.${leaf}`;
      if (module === 'conv_last') return `model.${lastUp + 4}.${leaf}`;
    } else if (layout === 'bsrgan') {
      if (module === 'conv_body') return `trunk_conv.${leaf}`;
      if ((m = module.match(/^body\.(\d+)\.rdb(\d)\.conv(\d)$/))) return `RRDB_trunk.${m[1]}.RDB${m[2]}.conv${m[3]}.${leaf}`;
      if ((m = module.match(/^conv_up(\d+)$/))) return `upconv${m[1]}.${leaf}`;
      if (module === 'conv_hr') return `HRconv.${leaf}`;
    }
    return name;
  };
  const need = (name: string) => {
    const key = fileKey(name);
    if (!tensors.has(key)) fail(path, `looks like an ESRGAN model (${layout} key layout) but has no tensor '${key}': the file is incomplete`);
    const shape = shapeOf(tensors, key);
    if (shape.length !== 4) fail(path, `has '${key}' of shape [${shape.join(',')}] where ESRGAN has a conv weight [out,in,3,3]`);
    return shape;
  };
  const [features, inChannels] = need('conv_first.weight');
  const growth = need('body.0.rdb1.conv1.weight')[0];
  const outChannels = need('conv_last.weight')[0];
  // Real-ESRGAN x2 / x1 models pixel-unshuffle the image first: 4 or 16 times the output's channels come in.
  const unshuffle = inChannels === outChannels * 4 ? 2 : inChannels === outChannels * 16 ? 4 : 1;
  if (inChannels / (unshuffle * unshuffle) !== 3 || outChannels !== 3) {
    fail(path, `is an ESRGAN model for ${inChannels / (unshuffle * unshuffle)}-channel input and ${outChannels}-channel output; ImageUpscaleWithModel runs RGB models`);
  }
  // Every conv the network reads, so that an incomplete file is told apart here rather than while building.
  const convs = ['conv_body', 'conv_hr', ...Array.from({ length: upsamples }, (_, u) => `conv_up${u + 1}`)];
  for (let b = 0; b < blocks; b++) for (let d = 1; d <= 3; d++) for (let c = 1; c <= 5; c++) convs.push(`body.${b}.rdb${d}.conv${c}`);
  convs.forEach((name) => need(`${name}.weight`));
  const scale = 2 ** upsamples / unshuffle;
  if (scale < 1 || !Number.isInteger(scale)) fail(path, `is an ESRGAN model with ${upsamples} upsampling steps after a ${unshuffle}× pixel unshuffle (scale ${scale}), which invgraph does not run`);
  const names = { original: 'original ESRGAN keys', basicsr: 'Real-ESRGAN keys', bsrgan: 'BSRGAN keys' }[layout];
  return {
    arch: { kind: 'esrgan', layout, features, growth, blocks, upsamples, inChannels, outChannels, unshuffle, scale },
    fileKey,
    description: `ESRGAN (RRDBNet, ${names}) ${scale}x, ${features} features, ${blocks} blocks`,
  };
}

function compact(path: string, tensors: TensorShapes): DetectedUpscaler {
  const keys = [...tensors.keys()];
  const layers = indices(keys, /^body\.(\d+)\.weight$/);
  const last = layers[layers.length - 1];
  const what = (s: string) => fail(path, `looks like an SRVGGNetCompact model (body.N.weight keys) but ${s}`);
  for (let i = 0; i <= last; i++) {
    const shape = tensors.get(`body.${i}.weight`)?.shape;
    if (!shape) return what(`has no body.${i}.weight`);
    if (i % 2 === 0 && shape.length !== 4) what(`body.${i}.weight is [${shape.join(',')}], not a conv weight`);
    if (i % 2 === 1 && shape.length !== 1) what(`body.${i}.weight is [${shape.join(',')}]: only PReLU activations (one slope per channel) are supported`);
  }
  if (last % 2 !== 0 || last < 2) what(`its last layer body.${last} is not a conv after an activation`);
  const [features, inChannels] = shapeOf(tensors, 'body.0.weight');
  const outChannels = inChannels; // the model's own assumption: as many channels out as in (spandrel does the same)
  const shuffled = shapeOf(tensors, `body.${last}.weight`)[0];
  const scale = Math.round(Math.sqrt(shuffled / outChannels));
  if (scale * scale * outChannels !== shuffled) what(`its last conv has ${shuffled} channels, not ${outChannels}·scale²`);
  if (inChannels !== 3) fail(path, `is an SRVGGNetCompact model for ${inChannels}-channel images; ImageUpscaleWithModel runs RGB models`);
  const convs = (last - 2) / 2;
  return {
    arch: { kind: 'compact', features, convs, inChannels, outChannels, unshuffle: 1, scale },
    fileKey: (name) => name,
    description: `SRVGGNetCompact (Real-ESRGAN compact) ${scale}x, ${features} features, ${convs} convs`,
  };
}

/** A short account of a file no detector accepted: what it seems to be, and a few of its keys. */
function unknown(path: string, keys: string[]): never {
  const sample = keys.slice(0, 4).join(', ') || 'no tensors';
  const expected = 'invgraph runs ESRGAN / Real-ESRGAN RRDBNet (keys model.0.weight… or conv_first.weight, body.0.rdb1.conv1.weight…) and SRVGGNetCompact (body.0.weight, body.1.weight…) upscalers';
  let what = 'is not an upscale model invgraph knows';
  if (keys.some((k) => k.startsWith('model.diffusion_model.'))) what = 'is a Stable Diffusion checkpoint, not an upscale model; put it in models/checkpoints';
  else if (keys.some((k) => k.includes('lora_') || k.includes('.lora_A.'))) what = 'is a LoRA, not an upscale model; put it in models/loras';
  else if (keys.some((k) => k.startsWith('decoder.up') || k.startsWith('first_stage_model.'))) what = 'is a VAE, not an upscale model; put it in models/vae';
  else if (keys.some((k) => /(^|\.)layers\.\d+\.residual_group\./.test(k))) what = 'is a SwinIR-style transformer upscaler, which invgraph does not run';
  throw new UpscaleModelError(`${path} ${what} (it holds e.g. ${sample}); ${expected}`);
}

/** The upscaler architecture and hyper-parameters of a weight file, from its tensors' names and shapes. */
export function detectUpscaler(path: string, tensors: TensorShapes): DetectedUpscaler {
  const has = (...keys: string[]) => keys.every((k) => tensors.has(k));
  if (has('model.0.weight', 'model.1.sub.0.RDB1.conv1.0.weight') || has('model.0.weight', 'model.1.sub.0.RDB1.conv1x1.weight')) return esrgan(path, tensors, 'original');
  if (has('conv_first.weight', 'body.0.rdb1.conv1.weight', 'conv_body.weight', 'conv_last.weight')) return esrgan(path, tensors, 'basicsr');
  if (has('conv_first.weight', 'RRDB_trunk.0.RDB1.conv1.weight', 'trunk_conv.weight', 'conv_last.weight')) return esrgan(path, tensors, 'bsrgan');
  if (has('body.0.weight', 'body.1.weight')) return compact(path, tensors);
  return unknown(path, [...tensors.keys()]);
}
