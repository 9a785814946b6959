// What every route handler may use: the queue, the runner, the websocket hub, the node registry
// and the server's folders and limits, plus small helpers for JSON bodies and answers.

import express from 'express';
import type { Request, Response } from 'express';
import type { DefinitionEnv, NodeRegistry } from '../graph/index.ts';
import { parseJson, stringifyJson } from '../graph/index.ts';
import type { JobQueue, WorkerInfo } from '../queue/index.ts';
import { badRequest } from './http-error.ts';
import type { PromptRunner } from './job-runner.ts';
import type { WsHub } from './ws-hub.ts';

export interface Limits {
  /** Largest JSON request body (prompts, workflows, settings); `serve --max-prompt-mb`. */
  maxBodyBytes: number;
  /** Largest upload (multipart file part); also reported as `max_upload_size`. */
  maxUploadBytes: number;
  /** Largest image (width × height) an upload may decode to. */
  maxUploadPixels: number;
}

export interface ServerContext {
  registry: NodeRegistry;
  env: DefinitionEnv;
  /** Settings, user data (workflows) and the queue database live here. */
  dataDir: string;
  queue: JobQueue;
  runner: PromptRunner;
  hub: WsHub;
  limits: Limits;
  features: Record<string, unknown>;
  /** The execution device, for /system_stats. */
  device: string;
  /** With a Redis queue: the live worker slots, listed as devices by /system_stats. */
  listWorkers?: () => Promise<WorkerInfo[]>;
  startArgv: string[];
  /** Recent log lines for /internal/logs. */
  logs: LogBuffer;
  log(message: string): void;
}

export interface LogEntry {
  t: string;
  m: string;
}

/** The last `capacity` log lines, for the frontend's log panel (§2.16). */
export class LogBuffer {
  private readonly entries: LogEntry[] = [];
  constructor(private readonly capacity = 1000) {}

  add(message: string): void {
    this.entries.push({ t: new Date().toISOString(), m: `${message}\n` });
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
  }

  all(): LogEntry[] {
    return [...this.entries];
  }
}

/** Reads the raw body (up to the limit; 413 beyond) for JSON parsing with big-int support. */
export function rawBody(limits: Limits) {
  return express.raw({ type: () => true, limit: limits.maxBodyBytes });
}

/** The JSON body, or undefined when there is none. Malformed JSON is a 400 (ComfyUI: 500). */
export function jsonBody(req: Request, limits: Limits): unknown {
  const body: unknown = req.body;
  if (!Buffer.isBuffer(body) || body.length === 0) return undefined;
  return parseJson(body.toString('utf8'), { maxBytes: limits.maxBodyBytes });
}

export function jsonObjectBody(req: Request, limits: Limits): Record<string, unknown> {
  const body = jsonBody(req, limits);
  if (!isObject(body)) throw badRequest('The request body must be a JSON object.');
  return body;
}

/** JSON answer that keeps big integers exact (seeds in /queue and /history). */
export function sendJson(res: Response, value: unknown, status = 200): void {
  res.status(status).type('application/json; charset=utf-8').send(stringifyJson(value));
}

/** JSON object text whose keys keep the given order (JS objects would sort integer-like keys). */
export function orderedObjectText(entries: readonly [string, unknown][]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${stringifyJson(value)}`).join(',')}}`;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Non-negative integer query parameter, or undefined when absent. */
export function intQuery(req: Request, name: string): number | undefined {
  const raw = req.query[name];
  if (raw === undefined) return undefined;
  const text = Array.isArray(raw) ? String(raw[0]) : String(raw);
  if (!/^\d{1,9}$/.test(text)) throw badRequest(`Query parameter ${name}=${JSON.stringify(text)} must be a non-negative integer.`);
  return Number(text);
}

export function stringQuery(req: Request, name: string): string | undefined {
  const raw = req.query[name];
  if (raw === undefined) return undefined;
  return Array.isArray(raw) ? String(raw[0]) : String(raw);
}
