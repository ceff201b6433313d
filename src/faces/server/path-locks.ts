/**
 * One lock per path: what is decided about a path (its precondition checked, its bytes renamed, its
 * change recorded) is done before the next request for it is looked at. Several paths are taken in
 * sorted order, so two requests never wait on each other.
 */
export class PathLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async with<T>(paths: string[], fn: () => Promise<T>): Promise<T> {
    const keys = [...new Set(paths)].sort();
    const releases: Array<() => void> = [];
    for (const key of keys) {
      const before = this.tails.get(key) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((resolve) => (release = resolve));
      const tail = before.then(() => mine);
      this.tails.set(key, tail);
      releases.push(() => {
        release();
        if (this.tails.get(key) === tail) this.tails.delete(key);
      });
      await before;
    }
    try {
      return await fn();
    } finally {
      for (const r of releases) r();
    }
  }
}
