/**
 * One token bucket for the whole run (§3.1): `rate` bytes per second, starting empty, holding at
 * most `burst` bytes of credit, so the long-run average follows the limit and no second exceeds
 * it by more than one burst.
 */
export class TokenBucket {
  private tokens = 0;
  private last = performance.now();

  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {}

  /** Resolves once `n` bytes may pass; rejects with the signal's reason when aborted. */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    this.tokens -= n;
    if (this.tokens >= 0) return;
    if (signal?.aborted) throw signal.reason as Error;
    const waitMs = (-this.tokens / this.rate) * 1000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, waitMs);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal!.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
