// The output cache between prompts (comfyui-api.md §6.5): classic (keep only what the new prompt
// can use), lru (the N most recently used entries) or none (nothing survives a prompt).

import type { UiOutput } from '../graph/index.ts';

export interface CacheEntry {
  /** One list per output slot (§6.4: every output is a list of per-call results). */
  outputs: unknown[][];
  ui?: UiOutput;
}

export interface CacheSettings {
  mode: 'classic' | 'lru' | 'none';
  /** Entries kept in lru mode. */
  lruSize?: number;
}

export interface OutputCache {
  get(signature: string): CacheEntry | undefined;
  set(signature: string, entry: CacheEntry): void;
  /** Called when a prompt starts, with the signatures of all its nodes. */
  beginPrompt(signatures: ReadonlySet<string>): void;
  clear(): void;
  readonly size: number;
}

export function createOutputCache(settings: CacheSettings): OutputCache {
  switch (settings.mode) {
    case 'classic':
      return classicCache();
    case 'lru':
      return lruCache(lruSizeOf(settings));
    case 'none':
      return noCache();
  }
}

function lruSizeOf(settings: CacheSettings): number {
  const size = settings.lruSize;
  if (size === undefined || !Number.isInteger(size) || size < 1) {
    throw new Error(`cache mode "lru" needs lruSize, a whole number of entries ≥ 1 (got ${String(size)}); pass e.g. {mode: 'lru', lruSize: 100}`);
  }
  return size;
}

function classicCache(): OutputCache {
  const entries = new Map<string, CacheEntry>();
  return {
    get: (signature) => entries.get(signature),
    set: (signature, entry) => void entries.set(signature, entry),
    beginPrompt(signatures) {
      for (const signature of entries.keys()) if (!signatures.has(signature)) entries.delete(signature);
    },
    clear: () => entries.clear(),
    get size() {
      return entries.size;
    },
  };
}

/** Entries of the running prompt are never evicted, so the cache may exceed its size while a
 *  prompt larger than it runs; it shrinks back when the next prompt starts. */
function lruCache(maxSize: number): OutputCache {
  const entries = new Map<string, CacheEntry>(); // insertion order = least recently used first
  let current: ReadonlySet<string> = new Set();
  const touch = (signature: string, entry: CacheEntry): void => {
    entries.delete(signature);
    entries.set(signature, entry);
  };
  const evict = (): void => {
    for (const signature of entries.keys()) {
      if (entries.size <= maxSize) return;
      if (!current.has(signature)) entries.delete(signature);
    }
  };
  return {
    get(signature) {
      const entry = entries.get(signature);
      if (entry) touch(signature, entry);
      return entry;
    },
    set(signature, entry) {
      touch(signature, entry);
      evict();
    },
    beginPrompt(signatures) {
      current = signatures;
      evict();
    },
    clear: () => entries.clear(),
    get size() {
      return entries.size;
    },
  };
}

function noCache(): OutputCache {
  return {
    get: () => undefined,
    set: () => undefined,
    beginPrompt: () => undefined,
    clear: () => undefined,
    size: 0,
  };
}
