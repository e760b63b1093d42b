import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, FindOptionsWhere, IsNull, LessThan, Repository } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { SqlRunner } from '../database/sql-runner';
import { Command } from './command.entity';
import {
  COUNT_BY_TYPE_STATE,
  LAST_SWITCH_SINCE,
  LOCK_SERIAL_COMMANDS,
  PRUNE_FINAL_COMMANDS,
} from './commands.sql';
import { ListCommandsQuery } from './dto/command.dto';

/** What a guard may read while one concentrator's commands are locked. */
export interface LockedCommands {
  /** The newest switch stored after `since` that touches `lines` (null = all). */
  lastSwitchSince(since: Date, lines: number[] | null): Promise<Date | null>;
}

export interface StoreRules {
  /**
   * The actor's Idempotency-Key. A command holding it that was stored before
   * `expiredBefore` lets go of it first, so the key may name the new one.
   */
  idempotency?: { key: string; expiredBefore: Date };
  /** Runs under the lock, before the insert; throws to refuse. */
  guard?: (locked: LockedCommands) => Promise<void>;
}

/** Not stored: `holder` already carries the actor's Idempotency-Key. */
export type StoreOutcome = { stored: true } | { stored: false; holder: Command };

/** How an ack ends a command. */
export interface AckOutcome {
  ok: boolean;
  code: number | null;
  msg: string | null;
  at: Date;
}

export interface CommandCount {
  type: string;
  state: string;
  n: number;
}

const UNIQUE_VIOLATION = '23505';

/**
 * The commands table: with commands.sql.ts, the only code that names it. State changes are
 * conditional updates (`state = 'sent'`), so the timer, the sweep and an ack
 * handled by another instance agree on which of them settled a command.
 */
@Injectable()
export class CommandStore {
  constructor(
    @InjectRepository(Command) private readonly repo: Repository<Command>,
    private readonly sql: SqlRunner,
  ) {}

  /**
   * With rules, the insert runs in a transaction under a per-concentrator
   * advisory lock; its statements go through the transaction's manager, as
   * SqlRunner's run outside any transaction.
   */
  async insert(row: Command, rules: StoreRules = {}): Promise<StoreOutcome> {
    if (!rules.guard && !rules.idempotency) {
      await this.repo.insert(row as QueryDeepPartialEntity<Command>);
      return { stored: true };
    }
    try {
      await this.repo.manager.transaction(async (m) => {
        await m.query(LOCK_SERIAL_COMMANDS, [row.sn]);
        if (rules.idempotency) {
          await releaseExpiredKey(
            m,
            row.actor,
            rules.idempotency.key,
            rules.idempotency.expiredBefore,
          );
        }
        await rules.guard?.(lockedCommands(m, row.sn));
        await m.insert(Command, row as QueryDeepPartialEntity<Command>);
      });
      return { stored: true };
    } catch (err) {
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION || !rules.idempotency) throw err;
      // The same key stored concurrently by another request.
      const holder = await this.byIdempotencyKey(row.actor, rules.idempotency.key);
      if (!holder) throw err;
      return { stored: false, holder };
    }
  }

  async delete(id: string): Promise<void> {
    await this.repo.delete({ id });
  }

  byId(id: string): Promise<Command | null> {
    return this.repo.findOneBy({ id });
  }

  /** Whatever its age: the expiry rule is the caller's. */
  byIdempotencyKey(actor: string, key: string): Promise<Command | null> {
    return this.repo.findOneBy({ actor, idempotencyKey: key });
  }

  /** Newest first; the id breaks ties so pages do not overlap. */
  page(q: ListCommandsQuery): Promise<[Command[], number]> {
    const where: FindOptionsWhere<Command> = {};
    if (q.sn) where.sn = q.sn;
    if (q.state) where.state = q.state;
    if (q.type) where.type = q.type;
    return this.repo.findAndCount({
      where,
      order: { createdAt: 'DESC', id: 'ASC' },
      take: q.limit,
      skip: q.offset,
    });
  }

  /** true when this ack settled the command: it was sent to `sn` and still open. */
  async settleByAck(id: string, sn: string, ack: AckOutcome): Promise<boolean> {
    const res = await this.repo.update(
      { id, sn, state: 'sent' },
      {
        state: ack.ok ? 'acked' : 'failed',
        ackCode: ack.code,
        ackMsg: ack.msg,
        settledAt: ack.at,
      },
    );
    return !!res.affected;
  }

  /** Kept beside the final state, which stays as it was; only the first late ack is kept. */
  async recordLateAck(id: string, sn: string, ack: AckOutcome): Promise<boolean> {
    const res = await this.repo.update(
      { id, sn, lateAckAt: IsNull() },
      { lateAckAt: ack.at, lateAckOk: ack.ok, lateAckCode: ack.code, lateAckMsg: ack.msg },
    );
    return !!res.affected;
  }

  /** true when the command was still open and is now `timeout`. */
  async timeOut(id: string, at: Date): Promise<boolean> {
    const res = await this.repo.update({ id, state: 'sent' }, { state: 'timeout', settledAt: at });
    return !!res.affected;
  }

  /** Commands still open that were stored before `before`. */
  async stillSentBefore(before: Date, limit: number): Promise<string[]> {
    const rows = await this.repo.find({
      select: { id: true },
      where: { state: 'sent', createdAt: LessThan(before) },
      take: limit,
    });
    return rows.map((r) => r.id);
  }

  countByTypeAndState(): Promise<CommandCount[]> {
    return this.sql.rows<CommandCount>(COUNT_BY_TYPE_STATE);
  }

  /** Rows deleted. */
  pruneFinal(keepDays: number): Promise<number> {
    return this.sql.run(PRUNE_FINAL_COMMANDS, [keepDays]);
  }
}

function releaseExpiredKey(
  m: EntityManager,
  actor: string,
  key: string,
  before: Date,
): Promise<unknown> {
  return m.update(
    Command,
    { actor, idempotencyKey: key, createdAt: LessThan(before) },
    { idempotencyKey: null },
  );
}

function lockedCommands(m: EntityManager, sn: string): LockedCommands {
  return {
    async lastSwitchSince(since, lines) {
      const rows = await m.query<{ last: Date | null }[]>(LAST_SWITCH_SINCE, [sn, since, lines]);
      const last = rows[0]?.last;
      return last ? new Date(last) : null;
    },
  };
}
