// Redis pub/sub between the server and its workers (docs/server.md "Many workers"). A worker's job
// runner sends its websocket frames (execution events, previews, the end-of-job frame after history
// is written, status changes) as calls on one channel, in order; the server replays them on its
// websocket hub, so the client that queued a prompt gets its frames whichever worker ran it. The
// server publishes interrupts and /free to every worker. Live frames only: what must survive
// (queue, history) is in BullMQ.

import { Redis } from 'ioredis';
import type { PreviewData } from '../../exec/index.ts';
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

  constructor(options: BusOptions, onControl: (message: ControlMessage) => void, log: (message: string) => void) {
    this.names = channels(options.prefix);
    this.publisher = new Redis({ ...options.connection, maxRetriesPerRequest: null });
    this.subscriber = new Redis({ ...options.connection, maxRetriesPerRequest: null });
    this.publisher.on('error', () => {});
    this.subscriber.on('error', () => {});
    this.subscriber.on('message', (_channel: string, text: string) => {
      const message = parseControl(text);
      if (message) onControl(message);
      else log(`ignoring a control message that is not one: ${text.slice(0, 200)}`);
    });
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

  async listen(onCall: (call: HubCall) => void, log: (message: string) => void): Promise<void> {
    this.subscriber.on('message', (_channel: string, text: string) => {
      const call = parseCall(text);
      if (call) onCall(call);
      else log(`ignoring a worker message that is not a hub call: ${text.slice(0, 200)}`);
    });
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

/** Frames travel as the JSON the hub would send (JSON.stringify), previews' image bytes as base64. */
export function callText(call: HubCall): string {
  if (call.kind === 'preview') {
    const { frame } = call.preview;
    const preview = { ...call.preview, frame: { format: frame.format, data: Buffer.from(frame.data).toString('base64') } };
    return JSON.stringify({ ...call, preview });
  }
  return JSON.stringify(call);
}

/** undefined for anything that is not a hub call (Redis is shared: never trust its messages blindly). */
export function parseCall(text: string): HubCall | undefined {
  const call = parseObject(text);
  if (!call) return undefined;
  const clientOk = call.clientId === undefined || typeof call.clientId === 'string';
  if (call.kind === 'status') return { kind: 'status' };
  if (call.kind === 'frame' && clientOk && typeof call.type === 'string' && typeof call.orBroadcast === 'boolean') {
    return { kind: 'frame', clientId: call.clientId as string | undefined, orBroadcast: call.orBroadcast, type: call.type, data: call.data };
  }
  const preview = call.preview as { frame?: { format?: unknown; data?: unknown } } | undefined;
  const frame = preview?.frame;
  if (call.kind === 'preview' && clientOk && frame && (frame.format === 'JPEG' || frame.format === 'PNG') && typeof frame.data === 'string') {
    const data = new Uint8Array(Buffer.from(frame.data, 'base64'));
    return { kind: 'preview', clientId: call.clientId as string | undefined, preview: { ...(preview as PreviewData), frame: { format: frame.format, data } } };
  }
  return undefined;
}

export function parseControl(text: string): ControlMessage | undefined {
  const message = parseObject(text);
  if (message?.type === 'interrupt' && (message.promptId === undefined || typeof message.promptId === 'string')) {
    return message.promptId === undefined ? { type: 'interrupt' } : { type: 'interrupt', promptId: message.promptId };
  }
  if (message?.type === 'free' && typeof message.unloadModels === 'boolean' && typeof message.freeMemory === 'boolean') {
    return { type: 'free', unloadModels: message.unloadModels, freeMemory: message.freeMemory };
  }
  return undefined;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
