// The names of the inputs the GLIGEN variant adds to the UNet graph (unet-gligen.ts declares them; gligen-plan.ts
// feeds them), defined once: a misspelt name is a type error.

export const GLIGEN_INPUT = {
  /** The grounding tokens per row [B,MAX_OBJECTS,keyDim] (position-net.ts). */
  objs: 'gligen.objs',
  /** Per row [B]: 1 where the row's conditioning has boxes, 0 (the plain UNet, bitwise) elsewhere. */
  gate: 'gligen.gate',
} as const;
