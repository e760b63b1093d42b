import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { SqlRunner } from '../database/sql-runner';
import { StatusLine, TelemetryLine } from '../protocol/device-messages';
import { applySwitch } from './switch-state';
import { UPSERT_LATEST_BATCH } from './telemetry.sql';
import { MEASUREMENTS, Measurement } from '../protocol/measurements';

export interface LatestLine {
  sn: string;
  line: number;
  tsMs: number | null;
  receivedMs: number | null;
  values: Partial<Record<Measurement, number | null>>;
  isOn: boolean | null;
  onAtMs: number | null;
  onCause: string | null;
}

/**
 * Latest values and switch state per line, kept in memory on the hot path and
 * written to `concentrator_lines` in one statement every LATEST_FLUSH_MS.
 * "Latest" is by device time: an older sample that arrives late changes nothing.
 * The switch state follows switchUpdate: after a restart memory may hold a
 * later onAt for the state the table already has; the upsert and the read
 * overlay keep the table's older, true start of that state.
 */
@Injectable()
export class LatestStore implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger('LatestStore');
  private readonly bySn = new Map<string, Map<number, LatestLine>>();
  private dirty = new Set<LatestLine>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;

  constructor(
    private readonly sql: SqlRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.config.ingest.latestFlushMs).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private entry(sn: string, line: number): LatestLine {
    let lines = this.bySn.get(sn);
    if (!lines) this.bySn.set(sn, (lines = new Map<number, LatestLine>()));
    let e = lines.get(line);
    if (!e) {
      e = {
        sn,
        line,
        tsMs: null,
        receivedMs: null,
        values: {},
        isOn: null,
        onAtMs: null,
        onCause: null,
      };
      lines.set(line, e);
    }
    return e;
  }

  applyTelemetry(sn: string, tsMs: number, receivedMs: number, lines: TelemetryLine[]): void {
    for (const l of lines) {
      const e = this.entry(sn, l.line);
      if (e.tsMs !== null && tsMs < e.tsMs) continue;
      e.tsMs = tsMs;
      e.receivedMs = receivedMs;
      // Overwritten in place: no object per line per message on the hot path.
      for (const k of MEASUREMENTS) e.values[k] = l[k] ?? null;
      // Telemetry knows no cause: it changes the switch state only when `on` differs.
      if (l.on !== undefined) applySwitch(e, l.on, tsMs, null);
      this.dirty.add(e);
    }
  }

  applyStatus(sn: string, tsMs: number, lines: StatusLine[]): void {
    for (const l of lines) {
      const e = this.entry(sn, l.line);
      if (applySwitch(e, l.on, tsMs, l.cause ?? 'unknown')) this.dirty.add(e);
    }
  }

  /** This instance's in-memory lines of one concentrator (may be newer than the table). */
  linesOf(sn: string): LatestLine[] {
    return [...(this.bySn.get(sn)?.values() ?? [])];
  }

  forget(sn: string): void {
    const lines = this.bySn.get(sn);
    if (lines) for (const e of lines.values()) this.dirty.delete(e);
    this.bySn.delete(sn);
  }

  async flush(): Promise<void> {
    // One flush at a time keeps the writes in order.
    while (this.flushing) await this.flushing;
    if (this.dirty.size === 0) return;
    this.flushing = this.write().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private async write(): Promise<void> {
    const rows = [...this.dirty];
    this.dirty = new Set();
    const cols = {
      sn: [] as string[],
      line: [] as number[],
      ts: [] as (number | null)[],
      rcv: [] as (number | null)[],
      isOn: [] as (boolean | null)[],
      onAt: [] as (number | null)[],
      cause: [] as (string | null)[],
    };
    const m = MEASUREMENTS.map(() => [] as (number | null)[]);
    for (const r of rows) {
      cols.sn.push(r.sn);
      cols.line.push(r.line);
      cols.ts.push(r.tsMs);
      cols.rcv.push(r.receivedMs);
      MEASUREMENTS.forEach((k, i) => m[i].push(r.values[k] ?? null));
      cols.isOn.push(r.isOn);
      cols.onAt.push(r.onAtMs);
      cols.cause.push(r.onCause);
    }
    try {
      await this.sql.bulk(UPSERT_LATEST_BATCH, [
        cols.sn,
        cols.line,
        cols.ts,
        cols.rcv,
        ...m,
        cols.isOn,
        cols.onAt,
        cols.cause,
      ]);
    } catch (err) {
      this.log.error(`latest flush of ${rows.length} lines failed: ${(err as Error).message}`);
      for (const r of rows) this.dirty.add(r);
    }
  }
}
