import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { PeriodicJobs } from '../jobs/periodic-jobs';
import { Command } from './command.entity';
import { CommandSettlement } from './command-settlement.service';
import { CommandStore } from './command-store';

export const TIMEOUT_SWEEP_JOB = 'commands.timeout-sweep';
export const PRUNE_JOB = 'commands.prune';

const SWEEP_EVERY_MS = 5000;
const SWEEP_BATCH = 1000;
const PRUNE_EVERY_MS = 3_600_000;

/**
 * A command not acked within COMMAND_TIMEOUT_S becomes `timeout`: by its own
 * timer in the instance that sent it, or by the sweep when that instance is
 * gone (a previous run, a crash, another instance). Old final commands are
 * pruned.
 */
@Injectable()
export class CommandTimeouts implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger('Commands');
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly store: CommandStore,
    private readonly settlement: CommandSettlement,
    private readonly jobs: PeriodicJobs,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    // At once: commands of a previous run have no timer here.
    this.jobs.register({
      name: TIMEOUT_SWEEP_JOB,
      everyMs: SWEEP_EVERY_MS,
      firstAfterMs: 0,
      run: () => this.sweep(),
    });
    this.jobs.register({ name: PRUNE_JOB, everyMs: PRUNE_EVERY_MS, run: () => this.prune() });
  }

  onApplicationShutdown(): void {
    this.timers.forEach(clearTimeout);
    this.timers.clear();
  }

  /** Starts the timer of a command just published. */
  arm(row: Command): void {
    const dueMs = row.createdAt.getTime() + this.config.commands.timeoutS * 1000 - Date.now();
    const t = setTimeout(() => void this.expire(row.id), Math.max(0, dueMs));
    t.unref();
    this.timers.set(row.id, t);
  }

  /** The command settled otherwise (an ack). */
  disarm(id: string): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  /**
   * Keeps the table from growing without end: final commands older than
   * COMMANDS_KEEP_DAYS go, except the carriers of a concentrator's current
   * desired state. The audit log keeps the history. Returns the rows deleted.
   */
  prune(): Promise<number> {
    return this.store.pruneFinal(this.config.commands.keepDays);
  }

  private async sweep(): Promise<void> {
    const before = new Date(Date.now() - this.config.commands.timeoutS * 1000);
    for (const id of await this.store.stillSentBefore(before, SWEEP_BATCH)) {
      if (!this.timers.has(id)) await this.expire(id);
    }
  }

  private async expire(id: string): Promise<void> {
    this.timers.delete(id);
    try {
      if (await this.store.timeOut(id, new Date())) await this.settlement.settled(id);
    } catch (err) {
      this.log.error(`timeout of ${id}: ${(err as Error).message}`);
    }
  }
}
