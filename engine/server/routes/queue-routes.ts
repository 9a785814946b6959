// POST/GET /prompt, /queue, /interrupt and /history (comfyui-api.md §2.1–2.7).

import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { loadWorkflow, unknownInputs, validatePrompt, type ApiPrompt } from '../../graph/index.ts';
import { toTuple } from '../../queue/index.ts';
import type { ServerContext } from '../context.ts';
import { intQuery, isObject, jsonBody, jsonObjectBody, orderedObjectText, rawBody, sendJson } from '../context.ts';
import { HttpError, badRequest } from '../http-error.ts';

export function queueRoutes(ctx: ServerContext): Router {
  const router = Router();
  const body = rawBody(ctx.limits);

  router.get('/prompt', async (_req, res) => {
    sendJson(res, { exec_info: { queue_remaining: await ctx.queue.remaining() } });
  });

  router.post('/prompt', body, async (req, res) => {
    const request = jsonObjectBody(req, ctx.limits);
    const accepted = await acceptPrompt(ctx, request);
    sendJson(res, accepted);
  });

  // Not in ComfyUI (issue #13 of §9): converts a saved UI workflow into an API prompt server-side.
  router.post('/workflow/convert', body, (req, res) => {
    const workflow = jsonBody(req, ctx.limits);
    if (workflow === undefined) throw badRequest('Send a UI-format workflow (the JSON the editor saves) as the body.');
    sendJson(res, { prompt: loadWorkflow(workflow, ctx.registry, ctx.env) });
  });

  router.get('/queue', async (_req, res) => {
    const [running, pending] = await Promise.all([ctx.queue.running(), ctx.queue.pending()]);
    sendJson(res, { queue_running: running.map(toTuple), queue_pending: pending.map(toTuple) });
  });

  router.post('/queue', body, async (req, res) => {
    const request = jsonObjectBody(req, ctx.limits);
    let changed = 0;
    if (request.clear) changed += await ctx.queue.clearPending();
    if (request.delete !== undefined) changed += await ctx.queue.deletePending(idList(request.delete, 'delete'));
    if (changed > 0) ctx.hub.broadcastStatus();
    res.status(200).end();
  });

  router.post('/interrupt', body, (req, res) => {
    // An empty or unreadable body interrupts whatever runs (§2.5).
    let promptId: string | undefined;
    try {
      const request = jsonBody(req, ctx.limits);
      if (isObject(request) && request.prompt_id !== undefined && request.prompt_id !== null) promptId = String(request.prompt_id);
    } catch {
      promptId = undefined;
    }
    const stopped = ctx.runner.interrupt(promptId);
    if (!stopped && promptId !== undefined) ctx.log(`interrupt for ${promptId} ignored: it is not the running prompt`);
    res.status(200).end();
  });

  router.get('/history', async (req, res) => {
    const page = { maxItems: intQuery(req, 'max_items'), offset: intQuery(req, 'offset') };
    const entries = await ctx.queue.historyJson(page);
    res.type('application/json; charset=utf-8').send(`{${entries.map(([id, text]) => `${JSON.stringify(id)}:${text}`).join(',')}}`);
  });

  router.get('/history/:prompt_id', async (req, res) => {
    const id = req.params.prompt_id;
    const entry = await ctx.queue.historyEntry(id);
    res.type('application/json; charset=utf-8').send(orderedObjectText(entry ? [[id, entry]] : []));
  });

  router.post('/history', body, async (req, res) => {
    const request = jsonObjectBody(req, ctx.limits);
    if (request.clear) await ctx.queue.clearHistory();
    if (request.delete !== undefined) await ctx.queue.deleteHistory(idList(request.delete, 'delete'));
    res.status(200).end();
  });

  return router;
}

interface Accepted {
  prompt_id: string;
  number: number;
  node_errors: Record<string, unknown>;
  /** Inputs the prompt sets that its nodes do not have (ComfyUI ignores them silently); only when any. */
  warnings?: string[];
}

/** Validates and stores the job before answering, so an accepted prompt survives a crash. */
async function acceptPrompt(ctx: ServerContext, request: Record<string, unknown>): Promise<Accepted> {
  if (request.prompt === undefined || request.prompt === null) {
    const error = { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} };
    throw new HttpError(400, error.message, { error, node_errors: {} });
  }
  const targets = optionalIdList(request.partial_execution_targets, 'partial_execution_targets');
  const validation = await validatePrompt(request.prompt, ctx.registry, ctx.env, targets ? { partialExecutionTargets: targets } : {});
  if (!validation.ok) {
    throw new HttpError(400, validation.error.message, { error: validation.error, node_errors: validation.node_errors });
  }
  const promptId = request.prompt_id === undefined || request.prompt_id === null ? randomUUID() : String(request.prompt_id);
  if (await ctx.queue.contains(promptId)) {
    throw badRequest(`prompt_id "${promptId}" is already queued or running; choose another id or leave it out.`);
  }
  const extraData = isObject(request.extra_data) ? { ...request.extra_data } : {};
  if (request.client_id !== undefined && request.client_id !== null) extraData.client_id = String(request.client_id);
  const number = await ctx.queue.add({
    promptId,
    prompt: validation.prompt,
    extraData,
    outputs: validation.outputs,
    number: priority(request.number),
    front: request.front === true,
  });
  ctx.hub.broadcastStatus();
  ctx.runner.kick();
  const warnings = unknownInputs(request.prompt as ApiPrompt, ctx.registry).map((unknown) => unknown.message);
  for (const warning of warnings) ctx.log(`prompt ${promptId}: ${warning}`);
  return { prompt_id: promptId, number, node_errors: validation.node_errors ?? {}, ...(warnings.length > 0 ? { warnings } : {}) };
}

function priority(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'bigint' ? Number(value) : typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) {
    throw badRequest(`"number" must be a finite number (the queue priority), got ${JSON.stringify(String(value))}.`);
  }
  return number;
}

function idList(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw badRequest(`"${field}" must be a list of prompt ids.`);
  return value.map((id) => String(id));
}

function optionalIdList(value: unknown, field: string): string[] | undefined {
  return value === undefined || value === null ? undefined : idList(value, field);
}
