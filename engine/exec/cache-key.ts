// Input signatures: the output-cache key of each node (comfyui-api.md §6.5, style.md §6).
// A node's signature hashes its class, fingerprint result, constant inputs in sorted order and,
// for each link, the upstream node's signature and slot; node ids never enter (except UNIQUE_ID).

import { createHash } from 'node:crypto';
import { isLink, type ApiPrompt } from '../graph/index.ts';

export interface SignatureSources {
  prompt: ApiPrompt;
  /** node id → fingerprint result, for nodes whose class has a fingerprint (§6.6). */
  fingerprints: ReadonlyMap<string, unknown>;
  /** Nodes whose id is part of their identity (classes with a UNIQUE_ID hidden input). */
  idBoundNodes?: ReadonlySet<string>;
}

/** node id → signature, or null where the node (or one of its ancestors) can never hit the cache:
 *  a NaN or unencodable value, a link to a missing node, or a cycle. */
export type Signatures = Map<string, string | null>;

class Uncacheable extends Error {}

export function computeSignatures(sources: SignatureSources): Signatures {
  const signatures: Signatures = new Map();
  const visiting = new Set<string>();
  const visit = (nodeId: string): string | null => {
    const known = signatures.get(nodeId);
    if (known !== undefined) return known;
    if (visiting.has(nodeId) || !Object.hasOwn(sources.prompt, nodeId)) return null;
    visiting.add(nodeId);
    const signature = nodeSignature(nodeId, sources, visit);
    visiting.delete(nodeId);
    signatures.set(nodeId, signature);
    return signature;
  };
  for (const nodeId of Object.keys(sources.prompt)) visit(nodeId);
  return signatures;
}

function nodeSignature(nodeId: string, sources: SignatureSources, visit: (id: string) => string | null): string | null {
  const node = sources.prompt[nodeId];
  const parts: unknown[] = [node.class_type];
  parts.push(sources.fingerprints.has(nodeId) ? ['fingerprint', sources.fingerprints.get(nodeId)] : ['no-fingerprint']);
  if (sources.idBoundNodes?.has(nodeId)) parts.push(['id', nodeId]);
  for (const name of Object.keys(node.inputs).sort()) {
    const value = node.inputs[name];
    if (isLink(value)) {
      const upstream = visit(value[0]);
      if (upstream === null) return null;
      parts.push([name, 'LINK', upstream, value[1]]);
    } else {
      parts.push([name, value]);
    }
  }
  try {
    return createHash('sha256').update(canonicalJson(parts)).digest('hex');
  } catch (error) {
    if (error instanceof Uncacheable) return null;
    throw error;
  }
}

/** JSON text that is the same for equal values: sorted object keys, tagged bigint / undefined /
 *  infinities / bytes, so 1, 1n and "1" differ. NaN and opaque objects throw Uncacheable. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(encode(value));
}

function encode(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isNaN(value)) throw new Uncacheable('NaN never equals itself');
      return Number.isFinite(value) ? value : { $number: String(value) };
    case 'bigint':
      return { $bigint: value.toString() };
    case 'undefined':
      return { $undefined: true };
    case 'object':
      return encodeObject(value);
    default:
      throw new Uncacheable(`a ${typeof value} has no stable encoding`);
  }
}

function encodeObject(value: object | null): unknown {
  if (value === null) return null;
  if (Array.isArray(value)) return value.map(encode);
  if (ArrayBuffer.isView(value)) {
    return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') };
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new Uncacheable('class instances have no stable encoding');
  const record = value as Record<string, unknown>;
  return { $object: Object.keys(record).sort().map((key) => [key, encode(record[key])]) };
}
