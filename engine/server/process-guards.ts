// Last line of defence for `invgraph serve` (issue #12): an error that escapes every request
// handler (a stream 'error' with no listener, a rejected promise nobody awaited) is logged with
// its stack and the server keeps serving, instead of one bad request taking every client down.
// Request-level handling (http-error.ts) stays the real fix; these only make a missed case loud.

export interface ProcessGuards {
  /** How many escaped errors were logged so far. */
  readonly count: number;
  remove(): void;
}

export function installProcessGuards(log: (message: string) => void): ProcessGuards {
  let count = 0;
  const report = (kind: string) => (error: unknown) => {
    count++;
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`BUG: ${kind} (the server keeps running; please report this with the request that caused it): ${detail}`);
  };
  const onException = report('uncaught exception');
  const onRejection = report('unhandled promise rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return {
    get count() {
      return count;
    },
    remove() {
      process.off('uncaughtException', onException);
      process.off('unhandledRejection', onRejection);
    },
  };
}
