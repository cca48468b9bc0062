/**
 * Wakes whoever waits on an organization when something of it changes: every realtime invalidation, this
 * instance's own publish and (over PostgreSQL NOTIFY) other instances', which is what every machine state
 * change sends once its write is done. `GET /api/v1/machines/{machine}?waitFor=…` waits here, so a client
 * learns of `running` the moment it is written instead of at its next poll.
 *
 * A wake says only "read again": waiters re-read what they wait for, so a wake that changed nothing of theirs
 * costs one read, and a wake that was missed (a NOTIFY lost in an outage) costs at most the waiter's own
 * timeout.
 */
export class OrganizationChanges {
  private readonly waiters = new Map<string, Set<() => void>>();

  /**
   * A promise that resolves at the organization's next change, after `timeoutMs`, or when `cancel` is
   * called, whichever comes first; it never rejects. Taken before reading what the caller waits for, so a
   * change between that read and the wait is not missed.
   */
  next(organizationId: string, timeoutMs: number): { changed: Promise<void>; cancel: () => void } {
    let wake!: () => void;
    const changed = new Promise<void>((resolve) => (wake = resolve));
    const set = this.waiters.get(organizationId) ?? new Set<() => void>();
    this.waiters.set(organizationId, set);
    const done = () => {
      clearTimeout(timer);
      set.delete(done);
      if (set.size === 0 && this.waiters.get(organizationId) === set) this.waiters.delete(organizationId);
      wake();
    };
    const timer = setTimeout(done, Math.max(0, timeoutMs));
    set.add(done);
    return { changed, cancel: done };
  }

  /** Wakes every waiter on the organization. */
  fire(organizationId: string): void {
    const set = this.waiters.get(organizationId);
    if (!set) return;
    for (const done of [...set]) done();
  }

  /** Waiters now, all organizations together (tests; a bound's check). */
  get size(): number {
    let count = 0;
    for (const set of this.waiters.values()) count += set.size;
    return count;
  }
}
