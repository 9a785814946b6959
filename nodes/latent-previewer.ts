// Which live preview the samplers send with each step, as ComfyUI's `--preview-method`: `latent2rgb` (a fixed
// linear map, one pixel per latent cell), `taesd` (the TAESD decoder from models/vae_approx, full size), `none`,
// or `auto` (= latent2rgb, as ComfyUI's auto). Set by `--preview-method` (INVGRAPH_PREVIEW_METHOD, which the
// execution processes inherit).
import type { NodeContext } from '../engine/graph/index.ts';
import { latent2rgbPreviewer, taesdPreviewer, openTaesdDecoder, WEIGHT_FILE } from '../engine/sd/index.ts';
import type { LatentPreviewer } from '../engine/sd/index.ts';
import { listModels, resolveModel, modelFolders } from './model-files.ts';
import { sdRuntime } from './sd-services.ts';

export const PREVIEW_METHODS = ['auto', 'latent2rgb', 'taesd', 'none'] as const;
export type PreviewMethod = (typeof PREVIEW_METHODS)[number];

/** The method INVGRAPH_PREVIEW_METHOD names (default auto); refuses unknown names. */
export function previewMethodFromEnv(env: NodeJS.ProcessEnv = process.env): PreviewMethod {
  const raw = env.INVGRAPH_PREVIEW_METHOD;
  if (raw === undefined || raw === '') return 'auto';
  if (!(PREVIEW_METHODS as readonly string[]).includes(raw)) throw new Error(`--preview-method / INVGRAPH_PREVIEW_METHOD ${JSON.stringify(raw)}: choose one of ${PREVIEW_METHODS.join(', ')}`);
  return raw as PreviewMethod;
}

/** ComfyUI looks for the first file in vae_approx whose name starts with the latent format's decoder name. */
const TAESD_DECODER_NAME = 'taesd_decoder';

/** The previewer of this run, or null for `none`. A missing TAESD decoder falls back to latent2rgb with a warning
 *  in the log, as ComfyUI does. */
export async function latentPreviewer(ctx: NodeContext, method: PreviewMethod = previewMethodFromEnv()): Promise<LatentPreviewer | null> {
  if (method === 'none') return null;
  if (method !== 'taesd') return latent2rgbPreviewer;
  const name = listModels(ctx.folders, 'vae_approx', { file: WEIGHT_FILE }).find((n) => n.startsWith(TAESD_DECODER_NAME));
  if (!name) {
    ctx.log(`TAESD previews are on, but no ${TAESD_DECODER_NAME}.* is in ${modelFolders(ctx.folders, 'vae_approx').join(', ')}; using latent2rgb previews`);
    return latent2rgbPreviewer;
  }
  const decoder = openTaesdDecoder(resolveModel(ctx.folders, 'vae_approx', name));
  return taesdPreviewer(await sdRuntime(ctx).taesdSession(decoder, (m) => ctx.log(m)));
}
