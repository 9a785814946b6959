// Workers advertise themselves in one Redis hash (docs/server.md "Scheduling"): device, the
// checkpoints whose sessions they hold warm, and whether they are busy. Entries carry the time they
// were written; a worker that stopped refreshing (killed) drops out after `staleMs`.

import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { RedisAddress } from './redis-url.ts';

export interface WorkerInfo {
  id: string;
  host: string;
  device: string;
  /** Checkpoint names (ckpt_name values) whose sessions this worker holds. */
  warm: string[];
  busy: boolean;
  /** Prompts with a checkpoint that started with it warm / had to load it (the scheduling hit rate). */
  warmStarts: number;
  coldStarts: number;
  seenMs: number;
}

export class WorkerRegistry {
  private readonly redis: Redis;
  private readonly key: string;

  constructor(
    connection: RedisAddress,
    prefix: string,
    private readonly staleMs = 5000,
  ) {
    this.redis = new Redis({ ...connection, maxRetriesPerRequest: null });
    this.redis.on('error', () => {});
    this.key = `${prefix}:workers`;
  }

  async advertise(info: Omit<WorkerInfo, 'seenMs' | 'host'>): Promise<void> {
    const entry: WorkerInfo = { ...info, host: hostname(), seenMs: Date.now() };
    await this.redis.hset(this.key, info.id, JSON.stringify(entry));
  }

  async live(): Promise<WorkerInfo[]> {
    const all = await this.redis.hgetall(this.key);
    const now = Date.now();
    return Object.values(all)
      .map((text) => JSON.parse(text) as WorkerInfo)
      .filter((info) => now - info.seenMs <= this.staleMs);
  }

  async remove(id: string): Promise<void> {
    await this.redis.hdel(this.key, id);
  }

  close(): void {
    this.redis.disconnect();
  }
}
