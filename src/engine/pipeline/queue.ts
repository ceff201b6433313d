/**
 * A bounded FIFO between the reader and the writer. `push` waits while the queue is full, `pop`
 * waits while it is empty and resolves undefined once the queue is closed and drained.
 */
export class BlockQueue<T> {
  private readonly items: T[] = [];
  private readonly popWaiters: Array<(v: T | undefined) => void> = [];
  private readonly pushWaiters: Array<() => void> = [];
  private closed = false;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.items.length;
  }

  async push(item: T): Promise<void> {
    while (this.items.length >= this.capacity && !this.closed) {
      await new Promise<void>((resolve) => this.pushWaiters.push(resolve));
    }
    if (this.closed) throw new Error('push to a closed queue');
    const waiter = this.popWaiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }

  async pop(): Promise<T | undefined> {
    const item = this.items.shift();
    if (item !== undefined) {
      this.pushWaiters.shift()?.();
      return item;
    }
    if (this.closed) return undefined;
    return new Promise((resolve) => this.popWaiters.push(resolve));
  }

  /** No more pushes; pending pops resolve undefined once the items are drained. */
  close(): void {
    this.closed = true;
    for (const w of this.popWaiters.splice(0)) w(undefined);
    for (const w of this.pushWaiters.splice(0)) w();
  }
}
