/**
 * Gathers a watcher's events per path (seed 003 "debouncing"): a path is flushed once it has been
 * quiet for `debounceMs`, or at the latest `maxDeferMs` after its first event, however busy it is.
 * One flush hands over every path that is due at once.
 */
export class Aggregator {
  private readonly pending = new Map<string, { first: number; last: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly debounceMs: number,
    private readonly maxDeferMs: number,
    private readonly flush: (paths: string[]) => void,
  ) {}

  add(path: string, now = Date.now()): void {
    const p = this.pending.get(path);
    if (p) p.last = now;
    else this.pending.set(path, { first: now, last: now });
    this.arm();
  }

  get size(): number {
    return this.pending.size;
  }

  /** Hands over everything now (on stop). */
  drain(): string[] {
    clearTimeout(this.timer);
    this.timer = undefined;
    const all = [...this.pending.keys()];
    this.pending.clear();
    return all;
  }

  private due(p: { first: number; last: number }): number {
    return Math.min(p.last + this.debounceMs, p.first + this.maxDeferMs);
  }

  private arm(): void {
    if (this.timer) return;
    let soonest = Infinity;
    for (const p of this.pending.values()) soonest = Math.min(soonest, this.due(p));
    if (soonest === Infinity) return;
    this.timer = setTimeout(() => this.fire(), Math.max(0, soonest - Date.now()));
  }

  private fire(): void {
    this.timer = undefined;
    const now = Date.now();
    const ready: string[] = [];
    for (const [path, p] of this.pending) {
      if (this.due(p) <= now) {
        ready.push(path);
        this.pending.delete(path);
      }
    }
    if (ready.length > 0) this.flush(ready);
    this.arm();
  }
}
