/**
 * Serialises work per key (machine id) within this process, so a user action and the reconciler never
 * drive the same machine at once. Across instances, provider calls are idempotent and container names are
 * unique, which keeps concurrent instances safe without a distributed lock.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  isBusy(key: string): boolean {
    return this.tails.has(key);
  }

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.catch(() => undefined).then(work);
    // The tail settles either way, and forgets the key once nothing else queued behind it.
    const release = () => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    const tail: Promise<void> = result.then(release, release);
    this.tails.set(key, tail);
    return result;
  }

  async drain(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
