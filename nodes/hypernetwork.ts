// HypernetworkLoader (ComfyUI comfy_extras/nodes_hypernetwork.py): an A1111 hypernetwork from
// models/hypernetworks applied to the model's attention key/value inputs at a strength (engine/sd/hypernetwork/).
import { defineNode } from '../engine/graph/index.ts';
import type { DefinitionEnv } from '../engine/graph/index.ts';
import { openHypernetwork, withHypernetwork } from '../engine/sd/index.ts';
import type { SdModel } from '../engine/sd/index.ts';
import { listModels, resolveModel, modelFolders } from './model-files.ts';

/** Hypernetwork files in models/hypernetworks (A1111 saves .pt). */
export function listHypernetworks(env: DefinitionEnv): string[] {
  return listModels(env.folders, 'hypernetworks', { file: /\.(pt|pth|ckpt)$/i });
}

export const HypernetworkLoader = defineNode({
  name: 'HypernetworkLoader',
  displayName: 'HypernetworkLoader',
  category: 'loaders',
  description: 'Applies an A1111 hypernetwork (.pt from models/hypernetworks) to the model: small networks rewrite the keys and values of the UNet\'s attention layers, scaled by strength. Several loaders stack in order.',
  inputs: {
    required: {
      model: { kind: 'LINK', type: 'MODEL', tooltip: 'The model to apply the hypernetwork to.' },
      hypernetwork_name: { kind: 'COMBO', options: listHypernetworks, source: (env: DefinitionEnv) => modelFolders(env.folders, 'hypernetworks').join(', '), tooltip: 'The hypernetwork in models/hypernetworks.' },
      strength: { kind: 'FLOAT', default: 1.0, min: -10.0, max: 10.0, step: 0.01, tooltip: 'How strongly it changes the attention (0: the model unchanged).' },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run({ model, hypernetwork_name, strength }, ctx) {
    const net = openHypernetwork(resolveModel(ctx.folders, 'hypernetworks', hypernetwork_name));
    ctx.log(`${hypernetwork_name}: MLPs for widths ${[...net.widths.keys()].join(', ')}, ${net.activation} activation, strength ${strength}`);
    const patched: SdModel = { ...(model as SdModel), patches: withHypernetwork((model as SdModel).patches ?? [], net, strength) };
    return { outputs: [patched] };
  },
});

export const hypernetworkNodes = [HypernetworkLoader];
