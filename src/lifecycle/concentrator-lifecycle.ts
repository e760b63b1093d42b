import { Injectable, Logger } from '@nestjs/common';

/** What can happen to a concentrator's registration. */
export type LifecycleChange =
  'discovered' | 'registered' | 'adopted' | 'released' | 'deleted' | 'credentials_changed';

export interface LifecycleEvent {
  sn: string;
  change: LifecycleChange;
  at: Date;
  /** Who did it; null for the system (discovery). */
  actor: string | null;
  detail?: Record<string, unknown>;
}

export type LifecycleSubscriber = (e: LifecycleEvent) => void | Promise<void>;

/**
 * The one place a serial's registration changes are announced. Every
 * per-serial state kept in memory (registry cache, latest values, trackers,
 * coalescers, broker sessions) subscribes, so a deleted and re-registered
 * serial starts clean wherever state about it lives.
 */
@Injectable()
export class ConcentratorLifecycle {
  private readonly log = new Logger('Lifecycle');
  private readonly subscribers = new Set<LifecycleSubscriber>();

  subscribe(fn: LifecycleSubscriber): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /**
   * Resolves once every subscriber has handled the event, so an API answer
   * given after it reflects the change everywhere in this process. A failing
   * subscriber does not stop the others; the first failure is rethrown once
   * all have run, so the change is not reported as complete when it is not.
   */
  async publish(e: Omit<LifecycleEvent, 'at'> & { at?: Date }): Promise<void> {
    const event: LifecycleEvent = { ...e, at: e.at ?? new Date() };
    const results = await Promise.allSettled([...this.subscribers].map(async (fn) => fn(event)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      const reason = failed.reason as Error;
      this.log.error(`${event.change} of ${event.sn}: a subscriber failed: ${reason?.message}`);
      throw reason;
    }
  }
}
