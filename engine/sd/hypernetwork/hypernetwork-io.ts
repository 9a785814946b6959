// The names of the inputs the hypernetwork variant adds to the UNet graph (unet-hypernetwork.ts declares them,
// hypernetwork-patch.ts feeds them), defined once: a misspelt name is a type error.

export const HYPERNETWORK_INPUT = {
  /** Hypernetwork i's strength, [1] (every row: ComfyUI applies it to the conditional and unconditional rows). */
  strength: (net: number) => `hypernetwork.${net}.strength`,
} as const;
