// Redis pub/sub between the server and its workers (docs/server.md "Many workers"). A worker's job
// runner sends its websocket frames (execution events, previews, the end-of-job frame after history
// is written, status changes) as calls on one channel, in order; the server replays them on its
// websocket hub, so the client that queued a prompt gets its frames whichever worker ran it. The
// server publishes interrupts and /free to every worker. Live frames only: what must survive
// (queue, history) is in BullMQ.

import { Redis } from 'ioredis';
import type { PreviewData } from '../../exec/index.ts';
import { parseJson, stringifyJson } from '../../graph/index.ts';
import type { RedisAddress } from './redis-url.ts';
import { WorkerRegistry, type WorkerInfo } from './worker-registry.ts';

/** One call a worker's runner made on its (remote) websocket hub. */
export type HubCall =
  | { kind: 'frame'; clientId: string | undefined; orBroadcast: boolean; type: string; data: unknown }
  | { kind: 'preview'; clientId: string | undefined; preview: PreviewData }
  | { kind: 'status' };

export type ControlMessage =
  | { type: 'interrupt'; promptId?: string }
  | { type: 'free'; unloadModels: boolean; freeMemory: boolean };

export interface BusOptions {
  connection: RedisAddress;
  prefix: string;
}

const channels = (prefix: string) => ({ events: `${prefix}:events`, control: `${prefix}:control` });

/** Worker side: publishes hub calls (in order, on one connection) and hears control messages. */
export class WorkerBus {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly names: ReturnType<typeof channels>;

  constructor(options: BusOptions, onControl: (message: ControlMessage) => void) {
    this.names = channels(options.prefix);
    this.publisher = new Redis({ ...options.connection, maxRetriesPerRequest: null });
    this.subscriber = new Redis({ ...options.connection, maxRetriesPerRequest: null });
    this.publisher.on('error', () => {});
    this.subscriber.on('error', () => {});
    this.subscriber.on('message', (_channel: string, text: string) => onControl(JSON.parse(text) as ControlMessage));
    void this.subscriber.subscribe(this.names.control);
  }

  publish(call: HubCall): Promise<unknown> {
    return this.publisher.publish(this.names.events, callText(call));
  }

  close(): void {
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }
}

/** Server side: hears every worker's calls, sends control messages, lists the live workers. */
export class ServerBus {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly names: ReturnType<typeof channels>;
  private readonly registry: WorkerRegistry;

  constructor(options: BusOptions) {
    this.names = channels(options.prefix);
    this.registry = new WorkerRegistry(options.connection, options.prefix);
    this.publisher = new Redis({ ...options.connection, maxRetriesPerRequest: null });
    this.subscriber = new Redis({ ...options.connection, maxRetriesPerRequest: null });
    this.publisher.on('error', () => {});
    this.subscriber.on('error', () => {});
  }

  async listen(onCall: (call: HubCall) => void): Promise<void> {
    this.subscriber.on('message', (_channel: string, text: string) => onCall(parseCall(text)));
    await this.subscriber.subscribe(this.names.events);
  }

  async control(message: ControlMessage): Promise<void> {
    await this.publisher.publish(this.names.control, JSON.stringify(message));
  }

  list(): Promise<WorkerInfo[]> {
    return this.registry.live();
  }

  close(): void {
    this.publisher.disconnect();
    this.subscriber.disconnect();
    this.registry.close();
  }
}

/** Previews carry image bytes: base64 in the JSON text. Seeds in outputs stay exact (lossless JSON). */
export function callText(call: HubCall): string {
  if (call.kind === 'preview') {
    const { frame } = call.preview;
    const preview = { ...call.preview, frame: { format: frame.format, data: Buffer.from(frame.data).toString('base64') } };
    return stringifyJson({ ...call, preview });
  }
  return stringifyJson(call);
}

export function parseCall(text: string): HubCall {
  const call = parseJson(text) as HubCall;
  if (call.kind === 'preview') {
    const frame = call.preview.frame as unknown as { format: 'JPEG' | 'PNG'; data: string };
    call.preview.frame = { format: frame.format, data: new Uint8Array(Buffer.from(frame.data, 'base64')) };
  }
  return call;
}
