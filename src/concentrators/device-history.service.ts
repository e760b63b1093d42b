import {
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { IngestStats } from '../ingestion/ingest-stats';
import { DeviceEvent, DeviceEventKind } from './entities/device-event.entity';
import { EventCoalescer, EventSlot, coalesceKey } from './event-coalescer';

export interface DeviceEventInput {
  sn: string;
  kind: DeviceEventKind;
  line?: number | null;
  at?: Date;
  detail?: Record<string, unknown> | null;
}

type Listener = (e: Required<Omit<DeviceEventInput, 'line' | 'detail'>> & DeviceEventInput) => void;

const FLUSH_MS = 1000;

// Adds the repeats counted in memory to their rows: one statement for all of them.
const ADD_REPEATS_SQL = `
  UPDATE device_events e
     SET occurrences = e.occurrences + u.n,
         last_at = greatest(coalesce(e.last_at, e.at), to_timestamp(u.last_ms / 1000.0))
    FROM unnest($1::bigint[], $2::int[], $3::float8[]) AS u(id, n, last_ms)
   WHERE e.id = u.id`;

/**
 * Connectivity, discovery and registry history; also fanned out to live
 * listeners (every event, repeats included). What a device's traffic can
 * repeat at will (online/offline, clock flags, serial mismatches, switch
 * changes) is coalesced: the first of a run within DEVICE_EVENTS_COALESCE_S
 * is a row, written at once; identical repeats in that window only raise its
 * `occurrences` and `last_at`, counted in memory and written once a second,
 * so a flapping or hostile device costs neither a row nor a query per message.
 */
@Injectable()
export class DeviceHistory implements OnModuleInit, OnModuleDestroy, OnApplicationShutdown {
  private readonly log = new Logger('DeviceEvents');
  private readonly listeners = new Set<Listener>();
  private readonly coalescer: EventCoalescer;
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;

  constructor(
    @InjectRepository(DeviceEvent) private readonly repo: Repository<DeviceEvent>,
    private readonly stats: IngestStats,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.coalescer = new EventCoalescer(config.ingest.deviceEventsCoalesceS * 1000);
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.flush();
    const lost = this.coalescer.abandon();
    if (lost > 0) {
      this.stats.eventsUnrecorded += lost;
      this.log.warn(`${lost} repeated device events not added to their rows at shutdown`);
    }
  }

  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Never throws: losing the history row must not break the message that caused it. */
  async add(e: DeviceEventInput): Promise<void> {
    const at = e.at ?? new Date();
    for (const l of this.listeners) l({ ...e, at });
    const key = coalesceKey(e);
    if (key === undefined) {
      await this.insert(e, at);
      return;
    }
    const offer = this.coalescer.offer(key, at.getTime(), Date.now());
    if (!offer.first) {
      if (offer.slot.lost) this.stats.eventsUnrecorded++;
      else this.stats.eventsCoalesced++;
      return;
    }
    const id = await this.insert(e, at);
    if (id !== undefined) offer.slot.id = id;
    else this.stats.eventsUnrecorded += this.coalescer.markLost(offer.slot);
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
        await this.repo.query(ADD_REPEATS_SQL, [
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
      this.stats.eventsWritten++;
      return String((res.identifiers[0] as { id: string | number }).id);
    } catch (err) {
      this.stats.eventsUnrecorded++;
      this.log.error(`could not record ${e.kind} for ${e.sn}: ${(err as Error).message}`);
      return undefined;
    }
  }
}

function restore(s: EventSlot, n: number, lastMs: number): void {
  s.pending += n;
  s.pendingLastMs = Math.max(s.pendingLastMs, lastMs);
}
