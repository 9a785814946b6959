// Reverse-mode autodiff over GraphBuilder graphs (training the Inv-Adapter, inv-adapter.md §6).
export { Tape } from './tape.ts';
export type { BackwardRule } from './tape.ts';
export * as ad from './ops.ts';
export type { ConvOptions } from './ops.ts';
export { reduceSum, reduceMean, padZeros, dims } from './raw.ts';
