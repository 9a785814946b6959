// Access to the SD runtime from a node, with a clear error when the host started without one.
import type { NodeContext } from '../engine/graph/index.ts';
import type { SdRuntime } from '../engine/sd/index.ts';

export function sdRuntime(ctx: NodeContext): SdRuntime {
  const runtime = ctx.services.sd;
  if (!runtime) throw new Error(`${ctx.classType} needs the SD runtime, but this host was started without one`);
  return runtime;
}
