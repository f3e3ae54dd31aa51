/**
 * Bytes of request bodies the whole server may hold in memory at once. A request reserves
 * what it may need before it reads a byte (its declared length, or the body limit when the
 * length is unknown) and gives it back once answered; when there is no room it waits, first
 * come first served, while the client's data stays in kernel buffers. The wait is bounded by
 * the caller's signal (the body timeout), so a flood costs time, not memory.
 */
export class BodyBudget {
  private used = 0;
  private readonly waiting: { bytes: number; grant: () => void }[] = [];

  constructor(readonly capacity: number) {}

  /** Bytes reserved now, for metrics and tests. */
  get inUse(): number {
    return this.used;
  }

  /**
   * Resolves with a release function once `bytes` are reserved; rejects with the signal's reason
   * when it aborts first. A request larger than the whole budget is granted when the budget is empty.
   */
  reserve(bytes: number, signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    const want = Math.min(bytes, this.capacity);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.used -= want;
      this.grantWaiting();
    };
    if (this.waiting.length === 0 && this.used + want <= this.capacity) {
      this.used += want;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const entry = {
        bytes: want,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(entry);
        if (at >= 0) this.waiting.splice(at, 1);
        // A waiter at the head that gave up may have been blocking smaller ones behind it.
        this.grantWaiting();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  private grantWaiting(): void {
    while (this.waiting.length > 0 && this.used + this.waiting[0]!.bytes <= this.capacity) {
      const next = this.waiting.shift()!;
      this.used += next.bytes;
      next.grant();
    }
  }
}
