import {
  Inject,
  Injectable,
  NotFoundException,
  Logger,
  OnApplicationShutdown,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { FindOptionsWhere, In, Repository } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import {
  PRUNE_PLAN,
  PRUNE_SCHEDULE,
  PrunePlan,
  pruneInBatches,
} from '../database/prune-in-batches';
import { SqlRunner } from '../database/sql-runner';
import { PeriodicJobs } from '../jobs/periodic-jobs';
import { DeviceEventPage, ListDeviceEventsQuery } from './dto/history.dto';
import { Concentrator } from './entities/concentrator.entity';
import { DeviceEvent, DeviceEventKind } from './entities/device-event.entity';
import { ADD_REPEATS, PRUNE_DEVICE_EVENTS_BATCH } from './device-events.sql';
import { EventCoalescer, EventSlot, coalesceKey } from './event-coalescer';
import {
  ConcentratorLifecycle,
  LifecycleChange,
  LifecycleEvent,
} from '../lifecycle/concentrator-lifecycle';

export interface DeviceEventInput {
  sn: string;
  kind: DeviceEventKind;
  line?: number | null;
  at?: Date;
  detail?: Record<string, unknown> | null;
}

/** How a registration change reads in a concentrator's history. */
const HISTORY_KIND: Record<LifecycleChange, DeviceEventKind | null> = {
  discovered: 'discovered',
  registered: 'created',
  adopted: 'adopted',
  released: 'released',
  deleted: 'deleted',
  credentials_changed: null,
};

const FLUSH_MS = 1000;

export const DEVICE_EVENTS_PRUNE_JOB = 'device-events.prune';

/**
 * Connectivity, discovery and registry history; also fanned out to live
 * listeners (every event, repeats included). What a device's traffic can
 * repeat at will (online/offline, clock flags, serial mismatches, switch
 * changes) is coalesced: the first of a run within DEVICE_EVENTS_COALESCE_S
 * is a row, written at once; identical repeats in that window only raise its
 * `occurrences` and `last_at`, counted in memory and written once a second,
 * so a flapping or hostile device costs neither a row nor a query per message.
 * Rows older than DEVICE_EVENTS_KEEP_DAYS are deleted hourly, in batches.
 */
@Injectable()
export class DeviceHistory implements OnModuleInit, OnModuleDestroy, OnApplicationShutdown {
  private readonly log = new Logger('DeviceEvents');
  private unsubscribe?: () => void;
  private readonly coalescer: EventCoalescer;
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private stopping = false;
  /** Events written as rows, coalesced into an open row, or lost (database refused): for /health and /metrics. */
  readonly counts = { written: 0, coalesced: 0, unrecorded: 0 };

  constructor(
    @InjectRepository(DeviceEvent) private readonly repo: Repository<DeviceEvent>,
    @InjectRepository(Concentrator) private readonly concentrators: Repository<Concentrator>,
    private readonly lifecycle: ConcentratorLifecycle,
    private readonly sql: SqlRunner,
    private readonly jobs: PeriodicJobs,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.coalescer = new EventCoalescer(config.ingest.deviceEventsCoalesceS * 1000);
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS).unref();
    this.unsubscribe = this.lifecycle.subscribe((e) => this.onLifecycle(e));
    this.jobs.register({
      name: DEVICE_EVENTS_PRUNE_JOB,
      ...PRUNE_SCHEDULE,
      run: () => this.prune(),
    });
  }

  onModuleDestroy(): void {
    this.stopping = true;
    clearInterval(this.timer);
    this.unsubscribe?.();
  }

  /** Registration changes are history; a serial deleted or registered anew starts a new run of repeats. */
  private async onLifecycle(e: LifecycleEvent): Promise<void> {
    if (e.change === 'deleted' || e.change === 'registered') this.coalescer.forget(e.sn);
    const kind = HISTORY_KIND[e.change];
    if (kind) await this.add({ sn: e.sn, kind, at: e.at, detail: e.detail ?? null });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.flush();
    const lost = this.coalescer.abandon();
    if (lost > 0) {
      this.counts.unrecorded += lost;
      this.log.warn(`${lost} repeated device events not added to their rows at shutdown`);
    }
  }

  private registered(sn: string): Promise<boolean> {
    return this.concentrators.existsBy({ sn });
  }

  /** One concentrator's history, newest first; 404 for a serial neither registered nor in it. */
  async list(sn: string, q: ListDeviceEventsQuery): Promise<DeviceEventPage> {
    const where: FindOptionsWhere<DeviceEvent> = { sn };
    if (q.kind) where.kind = In(q.kind.split(',') as DeviceEventKind[]);
    const [rows, total] = await this.repo.findAndCount({
      where,
      order: { at: 'DESC', id: 'DESC' },
      take: q.limit,
      skip: q.offset,
    });
    if (total === 0 && !(await this.repo.existsBy({ sn })) && !(await this.registered(sn))) {
      throw new NotFoundException(`concentrator ${sn} not found`);
    }
    return {
      items: rows.map((r) => ({
        id: r.id,
        at: r.at.toISOString(),
        count: r.occurrences,
        lastAt: (r.lastAt ?? r.at).toISOString(),
        kind: r.kind,
        line: r.line,
        detail: r.detail,
      })),
      total,
      limit: q.limit,
      offset: q.offset,
    };
  }

  /** Never throws: losing the history row must not break the message that caused it. */
  async add(e: DeviceEventInput): Promise<void> {
    const at = e.at ?? new Date();
    const key = coalesceKey(e);
    if (key === undefined) {
      await this.insert(e, at);
      return;
    }
    const offer = this.coalescer.offer(key, at.getTime(), Date.now());
    if (!offer.first) {
      if (offer.slot.lost) this.counts.unrecorded++;
      else this.counts.coalesced++;
      return;
    }
    const id = await this.insert(e, at);
    if (id !== undefined) offer.slot.id = id;
    else this.counts.unrecorded += this.coalescer.markLost(offer.slot);
  }

  /**
   * Deletes events older than DEVICE_EVENTS_KEEP_DAYS, in batches (the hourly
   * job; tests pass a smaller plan). Returns the rows deleted.
   */
  async prune(plan: PrunePlan = PRUNE_PLAN): Promise<number> {
    const days = this.config.retention.deviceEventsDays;
    const deleted = await pruneInBatches(
      (limit) => this.sql.run(PRUNE_DEVICE_EVENTS_BATCH, [days, limit]),
      plan,
      { stopped: () => this.stopping },
    );
    if (deleted > 0) this.log.log(`deleted ${deleted} device_events rows older than ${days} days`);
    return deleted;
  }

  /** Writes the repeats counted so far into their rows (timer, shutdown, tests). */
  flush(): Promise<void> {
    // Single flight: a slow database must not stack up writes of the same counts.
    this.flushing ??= this.writeRepeats().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async writeRepeats(): Promise<void> {
    const dirty = this.coalescer.dirty();
    if (dirty.length > 0) {
      const taken = dirty.map((s) => ({ s, n: s.pending, last: s.pendingLastMs }));
      for (const t of taken) t.s.pending = 0;
      try {
        await this.sql.run(ADD_REPEATS, [
          taken.map((t) => t.s.id as string),
          taken.map((t) => t.n),
          taken.map((t) => t.last),
        ]);
      } catch (err) {
        // Kept for the next pass: the rows are still there when the database is back.
        for (const t of taken) restore(t.s, t.n, t.last);
        this.log.error(
          `could not add repeats to ${taken.length} events: ${(err as Error).message}`,
        );
      }
    }
    this.coalescer.sweep(Date.now());
  }

  private async insert(e: DeviceEventInput, at: Date): Promise<string | undefined> {
    try {
      const res = await this.repo.insert(
        this.repo.create({
          sn: e.sn,
          kind: e.kind,
          line: e.line ?? null,
          at,
          detail: e.detail ?? null,
        }) as QueryDeepPartialEntity<DeviceEvent>,
      );
      this.counts.written++;
      return String((res.identifiers[0] as { id: string | number }).id);
    } catch (err) {
      this.counts.unrecorded++;
      this.log.error(`could not record ${e.kind} for ${e.sn}: ${(err as Error).message}`);
      return undefined;
    }
  }
}

function restore(s: EventSlot, n: number, lastMs: number): void {
  s.pending += n;
  s.pendingLastMs = Math.max(s.pendingLastMs, lastMs);
}
