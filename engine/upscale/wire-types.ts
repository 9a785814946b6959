// The value ComfyUI calls UPSCALE_MODEL, added to the node-definition WireTypes.
import type { UpscaleModel } from './upscale-model.ts';

declare module '../graph/node-definition.ts' {
  interface WireTypes {
    UPSCALE_MODEL: UpscaleModel;
  }
}
