// What the conditionings' GLIGEN boxes ask of the UNet (the hook guided-unet.ts calls, beside planControl): the
// graph variant with the file's fusers, and per model call the grounding tokens and gate of every row. As in
// ComfyUI (comfy/samplers.py get_area_and_mult, "middle_patch"), an entry with boxes gets its own tokens, with
// the boxes relative to the rows' latent or area crop; entries without boxes run the plain UNet (gate 0).
import { callChunks, type ModelCall } from '../../sampling/index.ts';
import { MAX_OBJECTS, type GligenModel } from './gligen-file.ts';
import { groundingTokens, type GligenBox } from './position-net.ts';
import type { GligenVariant } from './unet-gligen.ts';
import { GLIGEN_INPUT } from './gligen-io.ts';

/** GLIGENLoader's output (ComfyUI's GLIGEN type): the opened file. */
export interface SdGligen {
  gligen: GligenModel;
}

/** GLIGENTextBoxApply's mark on a conditioning entry (ComfyUI's `gligen` = ("position", model, params)). */
export interface GligenGrounding {
  model: SdGligen;
  boxes: readonly GligenBox[];
}

type Feeds = Record<string, { dims: readonly number[]; data: Float32Array }>;

export interface GligenPlan {
  variant: GligenVariant | undefined;
  feeds(call: Pick<ModelCall, 'guidance' | 'chunks' | 'dims'>, rows: number): Feeds;
}

/** The plan for the resolved entries of both sides (indexed as the sampler's chunks index them). */
export function planGligen(positive: ReadonlyArray<{ gligen?: GligenGrounding }>, negative: ReadonlyArray<{ gligen?: GligenGrounding }>): GligenPlan {
  const sides = { cond: positive.map((e) => e.gligen), uncond: negative.map((e) => e.gligen) };
  const models = [...new Set([...sides.cond, ...sides.uncond].flatMap((g) => (g ? [g.model.gligen] : [])))];
  if (models.length === 0) return { variant: undefined, feeds: () => ({}) };
  const paths = new Set(models.map((m) => m.path));
  if (paths.size > 1) throw new Error(`the conditionings use ${paths.size} different GLIGEN models (${[...paths].join(', ')}); one sampling can use one`);
  const model = models[0];
  const tokens = new Map<string, Float32Array>();
  const tokensFor = (grounding: GligenGrounding, key: string, height: number, width: number): Float32Array => {
    let t = tokens.get(key);
    if (!t) {
      t = groundingTokens(model, grounding.boxes, height, width);
      tokens.set(key, t);
    }
    return t;
  };
  return {
    variant: { path: model.path },
    feeds(call, rows) {
      const chunks = callChunks(call);
      const batch = rows / chunks.length;
      const [height, width] = [call.dims[2], call.dims[3]];
      const size = MAX_OBJECTS * model.keyDim;
      const objs = new Float32Array(rows * size);
      const gate = new Float32Array(rows);
      chunks.forEach((chunk, c) => {
        const grounding = sides[chunk.branch][chunk.entry];
        if (!grounding) return;
        const t = tokensFor(grounding, `${chunk.branch}.${chunk.entry}.${height}x${width}`, height, width);
        for (let r = c * batch; r < (c + 1) * batch; r++) {
          objs.set(t, r * size);
          gate[r] = 1;
        }
      });
      return { [GLIGEN_INPUT.objs]: { dims: [rows, MAX_OBJECTS, model.keyDim], data: objs }, [GLIGEN_INPUT.gate]: { dims: [rows], data: gate } };
    },
  };
}
