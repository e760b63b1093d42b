import {
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { FindOptionsWhere, IsNull, Not, Repository } from 'typeorm';
import {
  PRUNE_PLAN,
  PRUNE_SCHEDULE,
  PrunePlan,
  pruneInBatches,
} from '../database/prune-in-batches';
import { SqlRunner } from '../database/sql-runner';
import { PeriodicJobs } from '../jobs/periodic-jobs';
import { Actor } from '../identity/roles';
import { Page } from '../common/pagination.dto';
import { LiveFeed } from '../live/live-feed.service';
import { AlarmMsg } from '../protocol/device-messages';
import { Alarm } from './alarm.entity';
import { AlarmView, ListAlarmsQuery } from './dto/alarm.dto';
import { KeyedSerializer } from '../lib/keyed-serializer';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import {
  ACK_SQL,
  CLEAR_SQL,
  PRUNE_CLOSED_ALARMS_BATCH,
  RAISE_SQL,
  REOPEN_SQL,
  REPEAT_UNMATCHED_CLEAR_SQL,
  UNMATCHED_CLEAR_SQL,
} from './alarms.sql';

/** What happened to an alarm, as told to live listeners. */
export type AlarmChange = 'raised' | 'repeated' | 'cleared' | 'unmatched_clear' | 'acked';

export const ALARMS_PRUNE_JOB = 'alarms.prune';

/**
 * Alarm episodes: raised, repeated, cleared, acknowledged. Closed alarms
 * cleared more than ALARMS_KEEP_DAYS ago are deleted hourly, in batches; open
 * ones stay however old they are.
 */
@Injectable()
export class AlarmsService implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('Alarms');
  private readonly perDevice = new KeyedSerializer();
  private stopping = false;

  constructor(
    @InjectRepository(Alarm) private readonly repo: Repository<Alarm>,
    private readonly sql: SqlRunner,
    private readonly jobs: PeriodicJobs,
    private readonly live: LiveFeed,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.jobs.register({ name: ALARMS_PRUNE_JOB, ...PRUNE_SCHEDULE, run: () => this.prune() });
  }

  onModuleDestroy(): void {
    this.stopping = true;
  }

  /**
   * Deletes closed alarms cleared more than ALARMS_KEEP_DAYS ago, in batches
   * (the hourly job; tests pass a smaller plan). Returns the rows deleted.
   */
  async prune(plan: PrunePlan = PRUNE_PLAN): Promise<number> {
    const days = this.config.retention.alarmsDays;
    const deleted = await pruneInBatches(
      (limit) => this.sql.run(PRUNE_CLOSED_ALARMS_BATCH, [days, limit]),
      plan,
      { stopped: () => this.stopping },
    );
    if (deleted > 0) this.log.log(`deleted ${deleted} alarms rows cleared over ${days} days ago`);
    return deleted;
  }

  /** Applies one `alarm` message at its trusted time; per device in arrival order. */
  apply(sn: string, msg: AlarmMsg, at: Date): Promise<{ alarm: Alarm; change: AlarmChange }> {
    return this.perDevice.run(sn, async () => {
      const key = [sn, msg.line, msg.code];
      let change: AlarmChange;
      let id: string;
      const { alarmReopenS, deviceEventsCoalesceS } = this.config.ingest;
      if (msg.active) {
        const values = [...key, at, msg.value ?? null, msg.limit ?? null];
        const [reopened] = await this.sql.rows<{ id: string }>(REOPEN_SQL, [
          ...values,
          alarmReopenS,
        ]);
        if (reopened) {
          id = reopened.id;
          change = 'repeated';
        } else {
          const [row] = await this.sql.rows<{ id: string; inserted: boolean }>(RAISE_SQL, values);
          id = row.id;
          change = row.inserted ? 'raised' : 'repeated';
        }
      } else {
        const [closed] = await this.sql.rows<{ id: string }>(CLEAR_SQL, [
          ...key,
          at,
          msg.value ?? null,
        ]);
        if (closed) {
          id = closed.id;
          change = 'cleared';
        } else {
          const [repeated] = await this.sql.rows<{ id: string }>(REPEAT_UNMATCHED_CLEAR_SQL, [
            ...key,
            at,
            msg.value ?? null,
            deviceEventsCoalesceS,
          ]);
          const row =
            repeated ??
            (
              await this.sql.rows<{ id: string }>(UNMATCHED_CLEAR_SQL, [
                ...key,
                at,
                msg.value ?? null,
              ])
            )[0];
          id = row.id;
          change = 'unmatched_clear';
        }
      }
      const alarm = await this.repo.findOneByOrFail({ id });
      this.publish(alarm, change, at);
      return { alarm, change };
    });
  }

  async list(q: ListAlarmsQuery): Promise<Page<AlarmView>> {
    const where: FindOptionsWhere<Alarm> = {};
    if (q.active !== undefined) where.active = q.active;
    if (q.acked !== undefined) where.ackedAt = q.acked ? Not(IsNull()) : IsNull();
    if (q.sn) where.sn = q.sn;
    if (q.code) where.code = q.code;
    if (q.line !== undefined) where.line = q.line;
    const [rows, total] = await this.repo.findAndCount({
      where,
      order: { id: 'DESC' },
      take: q.limit,
      skip: q.offset,
    });
    return { items: rows.map(toAlarmView), total, limit: q.limit, offset: q.offset };
  }

  async get(id: string): Promise<Alarm> {
    const alarm = await this.repo.findOneBy({ id });
    if (!alarm) throw new NotFoundException(`alarm ${id} not found`);
    return alarm;
  }

  /** Idempotent: the first acknowledgement wins and is kept. */
  async ack(
    id: string,
    actor: Actor | null,
    note?: string,
  ): Promise<{ alarm: Alarm; first: boolean }> {
    const updated = await this.sql.run(ACK_SQL, [id, actor?.name ?? 'anonymous', note ?? null]);
    const alarm = await this.get(id);
    const first = updated > 0;
    if (first) this.publish(alarm, 'acked', alarm.ackedAt ?? new Date());
    return { alarm, first };
  }

  private publish(alarm: Alarm, change: AlarmChange, at: Date): void {
    this.live.emit({
      kind: 'alarm',
      sn: alarm.sn,
      at: at.toISOString(),
      alarm: { change, ...toAlarmView(alarm) },
    });
  }
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toAlarmView(a: Alarm): AlarmView {
  return {
    id: a.id,
    sn: a.sn,
    line: a.line,
    code: a.code,
    active: a.active,
    raisedAt: iso(a.raisedAt),
    raisedValue: a.raisedValue,
    raisedLimit: a.raisedLimit,
    lastAt: iso(a.lastAt),
    lastValue: a.lastValue,
    lastLimit: a.lastLimit,
    repeatCount: a.repeatCount,
    clearedAt: iso(a.clearedAt),
    clearValue: a.clearValue,
    unmatchedClear: a.unmatchedClear,
    ackedAt: iso(a.ackedAt),
    ackedBy: a.ackedBy,
    ackNote: a.ackNote,
    createdAt: a.createdAt.toISOString(),
  };
}
