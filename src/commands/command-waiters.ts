/**
 * Long-poll support: callers wait on a command id until it settles or their
 * deadline passes. Purely in-process; the caller re-reads the database after
 * waking, so a command settled by another instance is still seen (at the deadline).
 */
export class CommandWaiters {
  private readonly byId = new Map<string, Set<() => void>>();

  wait(id: string, timeoutMs: number): { promise: Promise<void>; cancel: () => void } {
    let done!: () => void;
    const promise = new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), timeoutMs);
      done = () => {
        clearTimeout(timer);
        this.remove(id, done);
        resolve();
      };
    });
    let set = this.byId.get(id);
    if (!set) this.byId.set(id, (set = new Set()));
    set.add(done);
    return { promise, cancel: done };
  }

  wake(id: string): void {
    for (const done of [...(this.byId.get(id) ?? [])]) done();
  }

  releaseAll(): void {
    for (const id of [...this.byId.keys()]) this.wake(id);
  }

  get size(): number {
    return this.byId.size;
  }

  private remove(id: string, done: () => void): void {
    const set = this.byId.get(id);
    if (!set) return;
    set.delete(done);
    if (set.size === 0) this.byId.delete(id);
  }
}
