// Training the Inv-Adapter (inv-adapter.md §6): optimizer and step graphs.
export { AdamW, ADAMW_DEFAULTS } from './adamw.ts';
export type { AdamWOptions, AdamWState } from './adamw.ts';
export { buildEaaBlockStep, eaaBlockForward, frozenShapes, adapterShapes, dataShapes, initialAdapter } from './eaa-block.ts';
export type { BlockDims } from './eaa-block.ts';
export { saveAdapterFile, saveTrainingState, loadTrainingState } from './checkpoint-file.ts';
export type { Tensors } from './checkpoint-file.ts';
