import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { LiveFeed } from '../live/live-feed.service';
import { Command } from './command.entity';
import { CommandStore } from './command-store';
import { toCommandView } from './command-view';
import { CommandWaiters } from './command-waiters';

export type SettleListener = (cmd: Command) => void;

/**
 * Who hears that a command ended, whichever path ended it (ack or timeout):
 * the live feed, the long-poll waiters of this process, and the modules that
 * follow their commands (desired state, upgrades).
 */
@Injectable()
export class CommandSettlement implements OnApplicationShutdown {
  private readonly log = new Logger('Commands');
  private readonly listeners = new Set<SettleListener>();
  private readonly waiters = new CommandWaiters();

  constructor(
    private readonly store: CommandStore,
    private readonly live: LiveFeed,
  ) {}

  onApplicationShutdown(): void {
    this.waiters.releaseAll();
  }

  /** Returns the unsubscribe. A listener that throws is logged and does not stop the others. */
  onSettled(listener: SettleListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when the command settles here, or at the deadline; `cancel` resolves it at once. */
  waitFor(id: string, timeoutMs: number): { promise: Promise<void>; cancel: () => void } {
    return this.waiters.wait(id, timeoutMs);
  }

  /** Called by whoever moved the command out of `sent`; reads the row as stored. */
  async settled(id: string): Promise<void> {
    const row = await this.store.byId(id);
    if (!row) return;
    this.announce(row);
    this.waiters.wake(id);
    for (const l of this.listeners) {
      try {
        l(row);
      } catch (err) {
        this.log.error(`settle listener failed for ${id}: ${(err as Error).message}`);
      }
    }
  }

  /** The command as it is now, on the live feed (sent, settled, or a late ack added). */
  announce(row: Command): void {
    this.live.emit({
      kind: 'command',
      sn: row.sn,
      at: (row.settledAt ?? row.createdAt).toISOString(),
      command: { ...toCommandView(row) },
    });
  }
}
