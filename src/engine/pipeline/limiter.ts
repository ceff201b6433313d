/**
 * One token bucket for the whole run (§3.1): `rate` bytes per second, starting empty, holding at
 * most `burst` bytes of credit, so the long-run average follows the limit and no second exceeds
 * it by more than one burst.
 */
export class TokenBucket {
  private tokens = 0;
  private last = performance.now();

  constructor(
    public rate: number,
    readonly burst: number,
  ) {}

  /** A new rate from now on (a job's workers share one limit: each one's part changes as they come and go). */
  setRate(rate: number): void {
    this.refill(); // the credit so far accrues at the old rate
    this.rate = rate;
  }

  /** Resolves once `n` bytes may pass; rejects with the signal's reason when aborted. */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    this.refill();
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

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }
}
