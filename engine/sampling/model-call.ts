// One evaluation of the network the samplers drive (model.ts documents the whole contract).

/** Which conditioning entry a group of B rows of a call is for (B = the latent's batch). */
export interface CondChunk {
  branch: 'cond' | 'uncond';
  /** Index into the branch's entries (GuidanceConds; 0 for a plain conditioning). */
  entry: number;
}

/** What one model evaluation receives. */
export interface ModelCall {
  /** The UNet's `sample` input, row-major [rows, C, H, W]. rows = B (guidance "cond") or 2·B (guidance
   *  "uncond+cond": rows 0…B−1 are the unconditional copies, rows B…2B−1 the conditional ones, the same
   *  latents in both halves). Already scaled as the UNet expects: x/√(σ² + 1) for the k-diffusion
   *  samplers, the plain DDPM-space latent for ddim_diffusers and DDIM inversion. */
  sample: Float32Array;
  dims: readonly number[];
  /** How to build encoder_hidden_states: "cond" → the positive embeddings [B, 77, D]; "uncond+cond" →
   *  cat([negative, positive]) along the batch, [2B, 77, D]. When `chunks` is given it is authoritative
   *  (guidance is then only "cond" when every chunk is conditional): read calls through callChunks. */
  guidance: 'cond' | 'uncond+cond';
  /** Area composition: the entry of each group of B rows, in row order (absent: as `guidance` says, entry 0).
   *  Rows then hold crops of the latent (dims[2..3] may be smaller than the latent's). */
  chunks?: readonly CondChunk[];
  /** The UNet timestep, the same for every row: an integer for every sampler here (ComfyUI's
   *  nearest-table timestep for k-diffusion samplers, the diffusers timestep for DDIM). */
  timestep: number;
  /** The noise level in σ units: the k-diffusion σ of `sample`, or √((1−ᾱ_t)/ᾱ_t) of `timestep` for DDIM
   *  and inversion. For features that depend on the schedule position (ControlNet ranges, EAA start/end). */
  sigma: number;
  /** Sampler step this evaluation belongs to (heun, dpm_2 make two calls in one step). */
  step: { index: number; total: number };
}

/** The network: returns ε (the predicted noise), same length and layout as `call.sample`. */
export type EpsModel = (call: ModelCall) => Promise<Float32Array>;

/** The chunks of a call: its own, or those `guidance` implies (entry 0 of each branch). */
export function callChunks(call: Pick<ModelCall, 'guidance' | 'chunks'>): readonly CondChunk[] {
  if (call.chunks) return call.chunks;
  return call.guidance === 'cond' ? [{ branch: 'cond', entry: 0 }] : [{ branch: 'uncond', entry: 0 }, { branch: 'cond', entry: 0 }];
}

