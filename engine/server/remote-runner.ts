// The runner of a server whose prompts run on workers behind a Redis queue (docs/server.md "Many
// workers"): it replays each worker's websocket frames on this server's hub, remembers which node
// each client's prompt is on (for reconnects), and sends interrupts and /free to every worker.

import type { ControlMessage, HubCall, WorkerInfo } from '../queue/index.ts';
import type { PromptRunner } from './job-runner.ts';
import type { WsHub } from './ws-hub.ts';

/** The server's end of the worker bus (engine/queue's ServerBus). */
export interface WorkerChannel {
  listen(onCall: (call: HubCall) => void, log: (message: string) => void): Promise<void>;
  control(message: ControlMessage): Promise<void>;
  /** The live worker slots, as they advertise themselves (for /system_stats). */
  list(): Promise<WorkerInfo[]>;
  close(): void;
}

export class RemoteRunner implements PromptRunner {
  /** clientId → the node its running prompt is on. */
  private readonly currentNode = new Map<string, string>();

  constructor(
    private readonly channel: WorkerChannel,
    private readonly hub: WsHub,
    private readonly log: (message: string) => void,
  ) {}

  async start(): Promise<void> {
    await this.channel.listen((call) => this.replay(call), this.log);
  }

  /** Workers take prompts from Redis themselves. */
  kick(): void {}

  runningNodeOf(clientId: string): string | undefined {
    return this.currentNode.get(clientId);
  }

  /** Every worker hears it; the one running that prompt (or, without an id, every busy one) stops it. */
  interrupt(promptId?: string): boolean {
    this.send(promptId === undefined ? { type: 'interrupt' } : { type: 'interrupt', promptId });
    return true;
  }

  free(request: { unloadModels: boolean; freeMemory: boolean }): void {
    this.send({ type: 'free', ...request });
  }

  stop(): void {}

  async close(): Promise<void> {
    this.channel.close();
  }

  private send(message: ControlMessage): void {
    this.channel.control(message).catch((error: unknown) => this.log(`cannot reach the workers: ${error instanceof Error ? error.message : String(error)}`));
  }

  private replay(call: HubCall): void {
    switch (call.kind) {
      case 'status':
        this.hub.broadcastStatus();
        return;
      case 'preview':
        this.hub.sendPreview(call.clientId, call.preview);
        return;
      case 'frame':
        if (call.type === 'executing' && call.clientId !== undefined) this.track(call.clientId, call.data);
        if (call.orBroadcast) this.hub.sendToOrBroadcast(call.clientId, call.type, call.data);
        else this.hub.sendTo(call.clientId, call.type, call.data);
    }
  }

  private track(clientId: string, data: unknown): void {
    const node = (data as { node?: unknown }).node;
    if (typeof node === 'string') this.currentNode.set(clientId, node);
    else this.currentNode.delete(clientId);
  }
}
