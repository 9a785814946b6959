// The names of the inputs and outputs a ControlNet variant adds to the UNet graph (unet-controlnet.ts declares
// them; guided-unet.ts and the parity section feed and read them), defined once: a misspelt name is a type error.

export const CONTROLNET_INPUT = {
  /** Net i's hint image [1 or B,3,8·H,8·W] in [0,1]. */
  hint: (net: number) => `controlnet.${net}.hint`,
  /** Net i's conditioning scale per row [B]. */
  strength: (net: number) => `controlnet.${net}.strength`,
  /** `residuals: 'inputs'`: residual k, shaped like skip k. */
  downResidual: (index: number) => `down_residual.${index}`,
  midResidual: 'mid_residual',
} as const;

/** `outputResiduals`: net i's residuals, already × strength. */
export const CONTROLNET_OUTPUT = {
  downResidual: (net: number, index: number) => `controlnet.${net}.down_residual.${index}`,
  midResidual: (net: number) => `controlnet.${net}.mid_residual`,
} as const;
