// The Inv-Adapter values that travel between nodes (INVERSION, DIFFUSION_FEATURES, INV_ADAPTER), added to
// the node-definition WireTypes beside ../wire-types.ts's; kept here so that file imports nothing above it.
import type { InvAdapter } from './inv-adapter.ts';
import type { Inversion } from './inv-adapter-pipeline.ts';
import type { FeatureBank } from './feature-bank.ts';

declare module '../../graph/node-definition.ts' {
  interface WireTypes {
    INVERSION: Inversion;
    DIFFUSION_FEATURES: FeatureBank;
    INV_ADAPTER: InvAdapter;
  }
}
