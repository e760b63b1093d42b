import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { FindOptionsWhere, IsNull, Not, Repository } from 'typeorm';
import { Actor } from '../identity/roles';
import { Page } from '../common/pagination.dto';
import { LiveFeed } from '../live/live-feed.service';
import { AlarmMsg } from '../protocol/device-messages';
import { Alarm } from './alarm.entity';
import { AlarmView, ListAlarmsQuery } from './dto/alarm.dto';
import { KeyedSerializer } from '../lib/keyed-serializer';
import { APP_CONFIG, AppConfig } from '../config/app-config';

/** What happened to an alarm, as told to live listeners. */
export type AlarmChange = 'raised' | 'repeated' | 'cleared' | 'unmatched_clear' | 'acked';

// One statement, so two raises racing (here or on another instance) end as one
// open row with a repeat, never as a unique violation. Absent value/limit on a
// repeat keep the previous ones rather than blanking them.
const RAISE_SQL = `
  INSERT INTO alarms AS a (sn, line, code, active, raised_at, raised_value, raised_limit,
                           last_at, last_value, last_limit)
  VALUES ($1, $2, $3, true, $4, $5, $6, $4, $5, $6)
  ON CONFLICT (sn, line, code) WHERE active DO UPDATE SET
    last_at = EXCLUDED.last_at,
    last_value = COALESCE(EXCLUDED.last_value, a.last_value),
    last_limit = COALESCE(EXCLUDED.last_limit, a.last_limit),
    repeat_count = a.repeat_count + 1,
    updated_at = now()
  RETURNING id, (xmax = 0) AS inserted`;

const CLEAR_SQL = `
  UPDATE alarms SET active = false, cleared_at = $4, clear_value = $5, updated_at = now()
   WHERE sn = $1 AND line = $2 AND code = $3 AND active
  RETURNING id`;

// A device whose condition chatters (raise, clear, raise…) must not add an
// episode per flip: a raise within ALARM_REOPEN_S ($7) of the clear of the
// same alarm reopens that episode and counts a repeat.
const REOPEN_SQL = `
  UPDATE alarms a SET active = true, cleared_at = NULL, clear_value = NULL, last_at = $4,
         last_value = COALESCE($5, a.last_value), last_limit = COALESCE($6, a.last_limit),
         repeat_count = a.repeat_count + 1, updated_at = now()
   WHERE a.id = (SELECT id FROM alarms WHERE sn = $1 AND line = $2 AND code = $3
                  ORDER BY id DESC LIMIT 1)
     AND NOT a.active AND NOT a.unmatched_clear
     AND a.cleared_at >= $4::timestamptz - make_interval(secs => $7)
  RETURNING a.id`;

// Likewise clears with nothing open: repeats within DEVICE_EVENTS_COALESCE_S ($6)
// count on the last such row.
const REPEAT_UNMATCHED_CLEAR_SQL = `
  UPDATE alarms a SET repeat_count = a.repeat_count + 1, last_at = $4,
         clear_value = COALESCE($5, a.clear_value), updated_at = now()
   WHERE a.id = (SELECT id FROM alarms WHERE sn = $1 AND line = $2 AND code = $3
                  ORDER BY id DESC LIMIT 1)
     AND a.unmatched_clear
     AND COALESCE(a.last_at, a.cleared_at) >= $4::timestamptz - make_interval(secs => $6)
  RETURNING a.id`;

const UNMATCHED_CLEAR_SQL = `
  INSERT INTO alarms (sn, line, code, active, cleared_at, clear_value, unmatched_clear)
  VALUES ($1, $2, $3, false, $4, $5, true)
  RETURNING id`;

const ACK_SQL = `
  UPDATE alarms SET acked_at = now(), acked_by = $2, ack_note = $3, updated_at = now()
   WHERE id = $1 AND acked_at IS NULL
  RETURNING id`;

@Injectable()
export class AlarmsService {
  private readonly perDevice = new KeyedSerializer();

  constructor(
    @InjectRepository(Alarm) private readonly repo: Repository<Alarm>,
    private readonly live: LiveFeed,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Applies one `alarm` message at its trusted time; per device in arrival order. */
  apply(sn: string, msg: AlarmMsg, at: Date): Promise<{ alarm: Alarm; change: AlarmChange }> {
    return this.perDevice.run(sn, async () => {
      const key = [sn, msg.line, msg.code];
      let change: AlarmChange;
      let id: string;
      const { alarmReopenS, deviceEventsCoalesceS } = this.config.ingest;
      if (msg.active) {
        const values = [...key, at, msg.value ?? null, msg.limit ?? null];
        const [reopened] = await this.repo.query<[{ id: string }[], number]>(REOPEN_SQL, [
          ...values,
          alarmReopenS,
        ]);
        if (reopened.length > 0) {
          id = reopened[0].id;
          change = 'repeated';
        } else {
          const [row] = await this.repo.query<{ id: string; inserted: boolean }[]>(
            RAISE_SQL,
            values,
          );
          id = row.id;
          change = row.inserted ? 'raised' : 'repeated';
        }
      } else {
        // UPDATE … RETURNING through TypeORM's query() yields [rows, count].
        const [closed] = await this.repo.query<[{ id: string }[], number]>(CLEAR_SQL, [
          ...key,
          at,
          msg.value ?? null,
        ]);
        if (closed.length > 0) {
          id = closed[0].id;
          change = 'cleared';
        } else {
          const [repeated] = await this.repo.query<[{ id: string }[], number]>(
            REPEAT_UNMATCHED_CLEAR_SQL,
            [...key, at, msg.value ?? null, deviceEventsCoalesceS],
          );
          const [row] =
            repeated.length > 0
              ? repeated
              : await this.repo.query<{ id: string }[]>(UNMATCHED_CLEAR_SQL, [
                  ...key,
                  at,
                  msg.value ?? null,
                ]);
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
    const [updated] = await this.repo.query<[{ id: string }[], number]>(ACK_SQL, [
      id,
      actor?.name ?? 'anonymous',
      note ?? null,
    ]);
    const alarm = await this.get(id);
    const first = updated.length > 0;
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
