// Renders executor events for a terminal: a live progress bar on a TTY, plain lines otherwise,
// and the time each node took (the "time per stage" users ask for).

export interface ProgressSink {
  write(text: string): void;
  isTTY: boolean;
}

interface NodeLabel {
  id: string;
  classType: string;
}

export class ProgressDisplay {
  private current: NodeLabel | null = null;
  private startedAt = 0;
  private lastPlainPercent = -1;
  readonly timings: Array<{ node: string; classType: string; seconds: number }> = [];

  constructor(private readonly sink: ProgressSink, private readonly classOf: (id: string) => string) {}

  nodeStarted(id: string | null): void {
    this.finishCurrent();
    if (id === null) return;
    this.current = { id, classType: this.classOf(id) };
    this.startedAt = performance.now();
    this.lastPlainPercent = -1;
    if (!this.sink.isTTY) this.sink.write(`[${id}] ${this.current.classType} ...\n`);
  }

  progress(value: number, max: number): void {
    if (!this.current || max <= 0) return;
    const fraction = Math.min(1, Math.max(0, value / max));
    if (this.sink.isTTY) {
      const width = 30;
      const filled = Math.round(fraction * width);
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
      this.sink.write(`\r[${this.current.id}] ${this.current.classType} [${bar}] ${value}/${max}`);
      return;
    }
    const percent = Math.floor(fraction * 10) * 10;
    if (percent !== this.lastPlainPercent) {
      this.lastPlainPercent = percent;
      this.sink.write(`[${this.current.id}] ${this.current.classType} ${value}/${max}\n`);
    }
  }

  /** A log line; on a terminal it clears a progress bar in the making first (the bar comes back on the
   *  next progress report). */
  log(message: string): void {
    this.sink.write(`${this.sink.isTTY ? '\r\x1b[2K' : ''}${message}\n`);
  }

  cached(ids: string[]): void {
    if (ids.length > 0) this.sink.write(`cached: ${ids.join(', ')}\n`);
  }

  finishCurrent(): void {
    if (!this.current) return;
    const seconds = (performance.now() - this.startedAt) / 1000;
    this.timings.push({ node: this.current.id, classType: this.current.classType, seconds });
    const prefix = this.sink.isTTY ? '\r\x1b[2K' : '';
    this.sink.write(`${prefix}[${this.current.id}] ${this.current.classType} done in ${seconds.toFixed(2)} s\n`);
    this.current = null;
  }
}
