// The one place where errors become HTTP answers (style.md §8): HttpError carries a status and
// a JSON body; input errors from other folders map to 400/403; anything else is a bug → 500.

import type { ErrorRequestHandler } from 'express';
import { JsonInputError, WorkflowError, stringifyJson } from '../graph/index.ts';
import { UnsafePathError } from '../files/index.ts';

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    /** Sent as the JSON body instead of `{error: message}` (e.g. ComfyUI's prompt errors). */
    readonly body?: unknown,
  ) {
    super(message);
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, message);
export const notFound = (message: string): HttpError => new HttpError(404, message);

/** Maps an error to [status, body]; a bug (plain Error) is a 500 with a generic message. */
export function toHttp(error: unknown): [number, unknown] {
  if (error instanceof HttpError) return [error.status, error.body ?? { error: error.message }];
  if (error instanceof JsonInputError) return [400, { error: error.message }];
  if (error instanceof UnsafePathError) return [400, { error: error.message }];
  if (error instanceof WorkflowError) return [400, { error: error.message, problems: error.problems }];
  const status = httpStatusOf(error);
  if (status !== undefined && status >= 400 && status < 500) {
    // body-parser / raw-body errors (413 too large, 400 aborted, 415 encoding) carry a status.
    return [status, { error: (error as Error).message }];
  }
  return [500, { error: 'internal server error; see the server log' }];
}

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as { status?: unknown; statusCode?: unknown }).status ?? (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' ? status : undefined;
}

export function errorHandler(log: (message: string) => void): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const [status, body] = toHttp(error);
    if (status >= 500) log(`${req.method} ${req.path} failed: ${(error as Error)?.stack ?? String(error)}`);
    // Bodies may hold what the client sent (a bigint seed in node_errors): the lossless writer keeps it,
    // and if even that fails the answer is still JSON, never express's HTML page with a stack trace.
    let text: string;
    try {
      text = stringifyJson(body);
    } catch (failure) {
      log(`${req.method} ${req.path}: cannot write the error body: ${(failure as Error).message}`);
      text = JSON.stringify({ error: status >= 500 ? 'internal server error; see the server log' : 'the request was refused' });
    }
    res.status(status).type('application/json; charset=utf-8').send(text);
  };
}
