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
   * Resolves once every subscriber has handled the event (so an API answer
   * given after it reflects the change everywhere in this process). A failing
   * subscriber is logged and does not stop the others.
   */
  async publish(e: Omit<LifecycleEvent, 'at'> & { at?: Date }): Promise<void> {
    const event: LifecycleEvent = { ...e, at: e.at ?? new Date() };
    await Promise.all(
      [...this.subscribers].map(async (fn) => {
        try {
          await fn(event);
        } catch (err) {
          this.log.error(
            `${event.change} of ${event.sn}: a subscriber failed: ${(err as Error).message}`,
          );
        }
      }),
    );
  }
}
