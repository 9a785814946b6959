// LoRA files (ComfyUI's LoraLoader): kohya / A1111 keys (`lora_unet_*`, `lora_te_*` with lora_down / lora_up /
// alpha, LoCon conv layers included) and diffusers / PEFT keys (`unet.….lora_A.weight`, `….to_q_lora.down.weight`)
// matched to the diffusers weight names our graphs read. A LoRA'd model is the base checkpoint with a weight
// source that also reports low-rank branches (ops-nn lowRankDelta); strengths are a graph input
// (`lora_strengths`, fed by the UNet's LoRA model patch lora-patch.ts and the CLIP session view in runtime.ts),
// so changing a strength reuses the built graph and its session.
// Choice (measured, bench/lora-cost.ts): branches in the graph rather than weights patched per (file, strength):
// no rebuild, no second copy of the weights per strength, a few % more compute per step.
import { checkpointFingerprint } from '../../onnx/index.ts';
import type { SafetensorsFile, WeightRef, WeightSource, LowRankBranch } from '../../onnx/index.ts';
import { weightRef } from '../../onnx/index.ts';
import { openTensorFile } from '../checkpoint/torch-file.ts';
import type { Checkpoint, LoraStack } from '../checkpoint/checkpoint.ts';
import type { LoraModule, LoraFile, AppliedLora } from './lora-types.ts';
import { unetLdmKeys, LDM_UNET_PREFIX } from '../checkpoint/key-map.ts';

export type { LoraFile, AppliedLora } from './lora-types.ts';
export type { LoraStack } from '../checkpoint/checkpoint.ts';

export class LoraError extends Error {}

type Network = 'unet' | 'textEncoder';

/** Diffusers module names are dotted; kohya flattens them with '_'. These segments contain '_' themselves. */
const SEGMENTS = [
  'down_blocks', 'up_blocks', 'mid_block', 'transformer_blocks', 'to_q', 'to_k', 'to_v', 'to_out', 'proj_in', 'proj_out',
  'time_emb_proj', 'conv_shortcut', 'conv_in', 'conv_out', 'time_embedding', 'linear_1', 'linear_2', 'text_model',
  'self_attn', 'q_proj', 'k_proj', 'v_proj', 'out_proj', 'final_layer_norm', 'layer_norm1', 'layer_norm2', 'conv_norm_out',
  'add_embedding', 'position_embedding', 'token_embedding',
];

/** The dotted names a kohya flat name can stand for, each checked with `exists`. */
function unflatten(flat: string, exists: (dotted: string) => boolean): string | undefined {
  const tokens = flat.split('_');
  const search = (i: number, parts: string[]): string | undefined => {
    if (i === tokens.length) {
      const name = parts.join('.');
      return exists(name) ? name : undefined;
    }
    for (const seg of SEGMENTS) {
      const n = seg.split('_').length;
      if (tokens.slice(i, i + n).join('_') === seg) {
        const found = search(i + n, [...parts, seg]);
        if (found) return found;
      }
    }
    return search(i + 1, [...parts, tokens[i]]);
  };
  return search(0, []);
}

/**
 * The UNet's LoRA-able layers by their flattened LDM names (`input_blocks_1_1_proj_in` → the diffusers name), for
 * LoRAs keyed in the original layout (`lora_unet_input_blocks_…`, as ComfyUI's model_lora_keys_unet accepts).
 */
function ldmUnetLayers(base: Checkpoint): Map<string, string> {
  const u = base.config.unet;
  const names: string[] = ['conv_in', 'conv_out', 'time_embedding.linear_1', 'time_embedding.linear_2'];
  const resnet = (p: string) => ['conv1', 'conv2', 'time_emb_proj', 'conv_shortcut'].map((x) => `${p}.${x}`);
  const attention = (p: string) => ['proj_in', 'proj_out', ...Array.from({ length: u.transformerDepth }, (_, t) =>
    [...['attn1', 'attn2'].flatMap((a) => ['to_q', 'to_k', 'to_v', 'to_out.0'].map((x) => `transformer_blocks.${t}.${a}.${x}`)),
      `transformer_blocks.${t}.ff.net.0.proj`, `transformer_blocks.${t}.ff.net.2`]).flat()].map((x) => `${p}.${x}`);
  const levels = u.blockOutChannels.length;
  for (let i = 0; i < levels; i++) {
    for (let j = 0; j <= u.layersPerBlock; j++) {
      if (j < u.layersPerBlock) names.push(...resnet(`down_blocks.${i}.resnets.${j}`), ...attention(`down_blocks.${i}.attentions.${j}`));
      names.push(...resnet(`up_blocks.${i}.resnets.${j}`), ...attention(`up_blocks.${i}.attentions.${j}`));
    }
    names.push(`down_blocks.${i}.downsamplers.0.conv`, `up_blocks.${i}.upsamplers.0.conv`);
  }
  names.push(...resnet('mid_block.resnets.0'), ...resnet('mid_block.resnets.1'), ...attention('mid_block.attentions.0'));
  const out = new Map<string, string>();
  for (const name of names) {
    if (!base.unet.has(`${name}.weight`)) continue;
    for (const ldm of unetLdmKeys(`${name}.weight`)) {
      out.set(ldm.slice(LDM_UNET_PREFIX.length, -'.weight'.length).replaceAll('.', '_'), name);
    }
  }
  return out;
}

/** Module key → [network, how to find the weight name] for each known key style; undefined if none. */
function targetOf(key: string, has: Record<Network, (name: string) => boolean>, ldmLayers: () => Map<string, string>): [Network, string] | undefined {
  const exists = (net: Network) => (name: string) => has[net](`${name}.weight`);
  let m = key.match(/^lora_unet_(.+)$/);
  if (m) {
    const name = unflatten(m[1], exists('unet')) ?? ldmLayers().get(m[1]);
    return name ? ['unet', name] : undefined;
  }
  m = key.match(/^lora_te1?_(.+)$/);
  if (m) {
    const name = unflatten(m[1], exists('textEncoder'));
    return name ? ['textEncoder', name] : undefined;
  }
  // diffusers / PEFT: dotted names, optionally with an attention `processor` level and `_lora` suffix.
  m = key.match(/^(?:base_model\.model\.)?(unet|text_encoder)\.(.+)$/);
  if (m) {
    const net: Network = m[1] === 'unet' ? 'unet' : 'textEncoder';
    const name = m[2].replace(/\.processor\./, '.').replace(/\.(to_q|to_k|to_v)_lora$/, '.$1').replace(/\.to_out_lora$/, '.to_out.0');
    return exists(net)(name) ? [net, name] : undefined;
  }
  return undefined;
}

/** Splits a tensor key into its module key and part (down / up / alpha), for each supported naming. */
function splitKey(key: string): [string, 'down' | 'up' | 'alpha' | 'other'] {
  const rules: Array<[RegExp, 'down' | 'up' | 'alpha']> = [
    [/^(.+)\.lora_down\.weight$/, 'down'], [/^(.+)\.lora_up\.weight$/, 'up'],
    [/^(.+)\.lora_A(?:\.default)?\.weight$/, 'down'], [/^(.+)\.lora_B(?:\.default)?\.weight$/, 'up'],
    [/^(.+)\.lora\.down\.weight$/, 'down'], [/^(.+)\.lora\.up\.weight$/, 'up'],
    [/^(.+)\.down\.weight$/, 'down'], [/^(.+)\.up\.weight$/, 'up'],
    [/^(.+)\.alpha$/, 'alpha'],
  ];
  for (const [re, part] of rules) {
    const m = key.match(re);
    if (m) return [m[1], part];
  }
  return [key, 'other'];
}

/** LoRA shapes as the target layer takes them: [r,in(,kh,kw)] / [out,r(,1,1)] (1×1 ⇄ linear are the same bytes). */
function fitShapes(file: string, key: string, base: readonly number[], down: WeightRef, up: WeightRef): [WeightRef, WeightRef] {
  const rank = down.shape[0];
  const [out, inp, kh = 1, kw = 1] = base;
  const conv = base.length === 4;
  const wantDown = conv ? [rank, inp, kh, kw] : [rank, inp];
  const wantUp = conv ? [out, rank, 1, 1] : [out, rank];
  const count = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  const sameHead = (s: readonly number[], want: number[]) => s[0] === want[0] && s[1] === want[1] && count(s) === count(want);
  if (!sameHead(down.shape, wantDown) || !sameHead(up.shape, wantUp)) {
    throw new LoraError(`LoRA ${file}: '${key}' has down [${down.shape.join(',')}] / up [${up.shape.join(',')}], which do not fit the model's weight [${base.join(',')}] (is it a LoRA for another model, e.g. SDXL?)`);
  }
  return [{ ...down, shape: wantDown }, { ...up, shape: wantUp }];
}

/** Opens a LoRA file against a checkpoint; refuses files with no LoRA tensors and LoRA types we do not run. */
export function openLora(path: string, base: Checkpoint): LoraFile {
  const file: SafetensorsFile = openTensorFile(path, LoraError);
  const groups = new Map<string, { down?: string; up?: string; alpha?: string }>();
  const others: string[] = [];
  for (const key of file.tensors.keys()) {
    const [module, part] = splitKey(key);
    if (part === 'other') { others.push(key); continue; }
    const g = groups.get(module) ?? {};
    g[part] = key;
    groups.set(module, g);
  }
  const what = (s: string) => new LoraError(`${path} ${s}`);
  if (others.some((k) => /\.(hada_w1_a|lokr_w1|lora_mid)/.test(k))) throw what('is a LoHa / LoKr / LoCon-with-mid (Tucker) LoRA; invgraph runs plain low-rank (LoRA and LoCon) files');
  if (groups.size === 0) {
    if (others.some((k) => k.startsWith('model.diffusion_model.'))) throw what('is a full checkpoint, not a LoRA; put it in models/checkpoints');
    throw what(`has no LoRA tensors (lora_down/lora_up, lora_A/lora_B); it holds e.g. ${others.slice(0, 3).join(', ') || 'no tensors'}`);
  }
  const has = { unet: (n: string) => base.unet.has(n), textEncoder: (n: string) => base.textEncoder.has(n) };
  let ldm: Map<string, string> | undefined;
  const ldmLayers = () => (ldm ??= ldmUnetLayers(base));
  const out: LoraFile = { path, fingerprint: checkpointFingerprint(file), unet: new Map(), textEncoder: new Map(), unmatched: [...others] };
  for (const [module, parts] of groups) {
    const target = parts.down && parts.up ? targetOf(module, has, ldmLayers) : undefined;
    if (!target) {
      out.unmatched.push(...[parts.down, parts.up, parts.alpha].filter((k): k is string => k !== undefined));
      continue;
    }
    const [net, name] = target;
    const weightName = `${name}.weight`;
    const [down, up] = fitShapes(path, module, base[net].weight(weightName).shape,
      weightRef(file, file.tensors.get(parts.down!)!), weightRef(file, file.tensors.get(parts.up!)!));
    const alpha = parts.alpha ? file.read(parts.alpha)[0] : undefined;
    out[net].set(weightName, { key: module, down, up, scale: alpha === undefined ? 1 : alpha / down.shape[0] });
  }
  if (out.unet.size === 0 && out.textEncoder.size === 0) {
    throw what(`matches no weight of ${base.path} (keys like ${[...groups.keys()].slice(0, 2).join(', ')}): it is not an SD1.5 LoRA`);
  }
  return out;
}



const BRANCH = '#lora';

function withBranches(source: WeightSource, applied: AppliedLora[], net: Network): WeightSource {
  if (applied.length === 0) return source;
  const refs = new Map<string, WeightRef>();
  applied.forEach(({ lora }, slot) => {
    for (const [name, module] of lora[net]) {
      refs.set(`${name}${BRANCH}${slot}.down`, module.down);
      refs.set(`${name}${BRANCH}${slot}.up`, module.up);
    }
  });
  return {
    has: (name) => refs.has(name) || source.has(name),
    weight: (name) => refs.get(name) ?? source.weight(name),
    combine: source.combine && ((name, load) => source.combine!(name, load)),
    lowRank: (name): LowRankBranch[] => applied.flatMap(({ lora }, slot) => {
      const module = lora[net].get(name);
      return module ? [{ down: `${name}${BRANCH}${slot}.down`, up: `${name}${BRANCH}${slot}.up`, scale: module.scale, slot, slots: applied.length }] : [];
    }),
  };
}

/**
 * The checkpoint a LoRA stack gives: the base with branches on the UNet and text encoder weights. Its
 * fingerprint names the base and the LoRA files (not the strengths, which the graphs take as input).
 */
export function loraCheckpoint(stack: LoraStack): Checkpoint {
  const ids = (net: Network) => stack[net].map((a) => a.lora.fingerprint).join(',');
  return {
    ...stack.base,
    unet: withBranches(stack.base.unet, stack.unet, 'unet'),
    textEncoder: withBranches(stack.base.textEncoder, stack.textEncoder, 'textEncoder'),
    fingerprint: `${stack.base.fingerprint}+lora[${ids('unet')}][${ids('textEncoder')}]`,
    loras: stack,
  };
}

/** The `lora_strengths` feed of a network's graph (none without LoRAs). */
export function loraStrengths(checkpoint: Checkpoint, net: Network): Float32Array | null {
  const applied = checkpoint.loras?.[net] ?? [];
  return applied.length ? Float32Array.from(applied, (a) => a.strength) : null;
}
