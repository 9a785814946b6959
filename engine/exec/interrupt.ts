// The interrupt flag of comfyui-api.md §6.8: set by POST /interrupt, checked before each node
// call and at every progress update. The shared variant lets a main thread stop a worker.

/** Thrown at an interrupt check when the user interrupted; ends the job as "interrupted". */
export class InterruptedError extends Error {
  constructor(message = 'Processing interrupted') {
    super(message);
    this.name = 'InterruptedError';
  }
}

export interface InterruptFlag {
  isSet(): boolean;
  set(): void;
  clear(): void;
}

/** A flag for an executor that runs on the same thread as whoever interrupts it. */
export function createInterruptFlag(): InterruptFlag {
  let value = false;
  return {
    isSet: () => value,
    set: () => {
      value = true;
    },
    clear: () => {
      value = false;
    },
  };
}

/** A flag in shared memory; post `buffer` to a worker and wrap it there with fromSharedBuffer. */
export interface SharedInterruptFlag extends InterruptFlag {
  readonly buffer: SharedArrayBuffer;
}

/** Atomics make the write visible to a worker even while its event loop is blocked inside a
 *  long synchronous call (onnxruntime-node's run), as long as the node checks between calls. */
export function createSharedInterruptFlag(): SharedInterruptFlag {
  return fromSharedBuffer(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
}

export function fromSharedBuffer(buffer: SharedArrayBuffer): SharedInterruptFlag {
  if (buffer.byteLength < Int32Array.BYTES_PER_ELEMENT) {
    throw new Error(`interrupt flag buffer has ${buffer.byteLength} bytes; it needs at least 4 (one Int32)`);
  }
  const cell = new Int32Array(buffer, 0, 1);
  return {
    buffer,
    isSet: () => Atomics.load(cell, 0) !== 0,
    set: () => {
      Atomics.store(cell, 0, 1);
    },
    clear: () => {
      Atomics.store(cell, 0, 0);
    },
  };
}

/** One job's view of the flag: notices an interrupt once (clearing the flag, as ComfyUI does
 *  when it fires), then stays interrupted and aborts `signal` for APIs that take one. */
export interface InterruptWatch {
  /** Throws InterruptedError if the user interrupted this job. */
  check(): void;
  isNoticed(): boolean;
  readonly signal: AbortSignal;
  /** Stops polling the flag; call when the job ends. */
  stop(): void;
}

/** Polling lets `signal` abort while a node awaits something that never calls check(). */
export function watchInterrupt(flag: InterruptFlag, pollMs = 25): InterruptWatch {
  const controller = new AbortController();
  const notice = (): boolean => {
    if (controller.signal.aborted) return true;
    if (!flag.isSet()) return false;
    flag.clear();
    controller.abort(new InterruptedError());
    return true;
  };
  // Not unref'd: a node awaiting only `signal` must keep the loop alive; stop() ends it.
  const timer = setInterval(notice, pollMs);
  return {
    check() {
      if (notice()) throw new InterruptedError();
    },
    isNoticed: () => controller.signal.aborted,
    signal: controller.signal,
    stop: () => clearInterval(timer),
  };
}
