import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  OnApplicationShutdown,
  OnModuleInit,
  ServiceUnavailableException,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, FindOptionsWhere, IsNull, LessThan, Repository } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../identity/roles';
import { Page } from '../common/pagination.dto';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ConcentratorsService } from '../concentrators/concentrators.service';
import {
  CachedConcentrator,
  ConcentratorRegistry,
} from '../concentrators/concentrator-registry.service';
import { LiveFeed } from '../live/live-feed.service';
import { DeviceMessageContext } from '../ingestion/device-message-context';
import { IngestionService } from '../ingestion/ingestion.service';
import { TodevPublisher } from '../mqtt/todev-publisher.service';
import {
  BackendMessage,
  encodeBackendMessage,
  newCommandId,
  ProtocolEncodeError,
} from '../protocol/backend-messages';
import { AckMsg } from '../protocol/device-messages';
import { Command } from './command.entity';
import { toCommandView } from './command-view';
import { CommandWaiters } from './command-waiters';
import { CommandView, ListCommandsQuery } from './dto/command.dto';
import { AuditActionName } from '../audit/audit-actions';

type Omit3<T> = T extends unknown ? Omit<T, 'sn' | 'id' | 'ts'> : never;
/** A backend message before the service stamps it with serial, id and time. */
export type OutgoingMessage = Omit3<BackendMessage>;

export interface SendCommandInput {
  sn: string;
  message: OutgoingMessage;
  /** null = the system itself (config_request re-push, upgrade campaign). */
  actor: Actor | null;
  /** Default true: 409 `device_offline` when the concentrator is offline. */
  requireOnline?: boolean;
  ip?: string;
}

/** Extras of the switch path: checks that must hold under the per-device lock. */
export interface DispatchOptions {
  lines?: number[] | null;
  idempotency?: { key: string; hash: string };
  /** Runs in the storing transaction, under a per-concentrator advisory lock; throws to refuse. */
  guard?: (m: EntityManager) => Promise<void>;
}

/** The first command stored under an Idempotency-Key, found while storing a new one. */
export class IdempotentReplay extends Error {
  constructor(readonly command: Command) {
    super('idempotent replay');
  }
}

const SWEEP_MS = 5000;

/**
 * Every message to a concentrator's `todev`: stored, published once through
 * TodevPublisher, and followed to its end (ack, failed ack, or timeout). The
 * database row is the truth; conditional updates (`state = 'sent'`) make the
 * timer, the sweep and acks handled by other instances agree.
 */
@Injectable()
export class CommandsService implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger('Commands');
  private readonly settledListeners = new Set<(cmd: Command) => void>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly waiters = new CommandWaiters();
  private sweepTimer?: NodeJS.Timeout;
  private pruneTimer?: NodeJS.Timeout;

  constructor(
    @InjectRepository(Command) private readonly repo: Repository<Command>,
    private readonly publisher: TodevPublisher,
    private readonly registry: ConcentratorRegistry,
    private readonly concentrators: ConcentratorsService,
    private readonly ingestion: IngestionService,
    private readonly live: LiveFeed,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.ingestion.on('ack', (ctx) => this.onAck(ctx));
    // Commands of a previous run (or a crashed instance) have no timer here.
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_MS).unref();
    void this.sweep();
    this.pruneTimer = setInterval(() => void this.prune(), 3_600_000).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweepTimer);
    clearInterval(this.pruneTimer);
    this.timers.forEach(clearTimeout);
    this.timers.clear();
    this.waiters.releaseAll();
  }

  send(input: SendCommandInput): Promise<Command> {
    return this.dispatch(input);
  }

  onSettled(listener: (cmd: Command) => void): () => void {
    this.settledListeners.add(listener);
    return () => this.settledListeners.delete(listener);
  }

  async get(id: string): Promise<Command> {
    const c = await this.repo.findOneBy({ id });
    if (!c) throw new NotFoundException(`command ${id} not found`);
    return c;
  }

  /** The command once final, or as it is after `waitS` seconds (woken by the settle, not by polling). */
  async waitFinal(id: string, waitS: number): Promise<Command> {
    const waiting = waitS > 0 ? this.waiters.wait(id, waitS * 1000) : undefined;
    try {
      const c = await this.get(id);
      if (c.state !== 'sent' || !waiting) return c;
      await waiting.promise;
      // Re-read: another instance may have settled it (then this one was woken by the deadline).
      return await this.get(id);
    } finally {
      waiting?.cancel();
    }
  }

  async list(q: ListCommandsQuery): Promise<Page<CommandView>> {
    const where: FindOptionsWhere<Command> = {};
    if (q.sn) where.sn = q.sn;
    if (q.state) where.state = q.state;
    if (q.type) where.type = q.type;
    const [rows, total] = await this.repo.findAndCount({
      where,
      order: { createdAt: 'DESC', id: 'ASC' },
      take: q.limit,
      skip: q.offset,
    });
    return { items: rows.map(toCommandView), total, limit: q.limit, offset: q.offset };
  }

  /** A commandable concentrator: 404 unknown, 409 pending. */
  async target(sn: string): Promise<CachedConcentrator> {
    let dev = this.registry.get(sn);
    if (!dev) {
      // Created through another instance since the last registry reload.
      this.registry.put(await this.concentrators.get(sn));
      dev = this.registry.get(sn)!;
    }
    if (dev.state !== 'managed') {
      throw new ConflictException(
        `concentrator ${sn} is pending: adopt it before sending commands`,
      );
    }
    return dev;
  }

  async dispatch(input: SendCommandInput, opts: DispatchOptions = {}): Promise<Command> {
    const dev = await this.target(input.sn);
    if (input.requireOnline !== false && !dev.online) throw new ConflictException('device_offline');
    // Checked before storing, so a down broker leaves no record behind.
    if (!this.publisher.connected) throw new ServiceUnavailableException('broker_unavailable');

    const id = newCommandId(input.message.type);
    const msg = {
      ...input.message,
      sn: input.sn,
      id,
      ts: Math.floor(Date.now() / 1000),
    } as BackendMessage;
    let wire: string;
    try {
      wire = encodeBackendMessage(msg);
    } catch (err) {
      if (err instanceof ProtocolEncodeError) throw new BadRequestException(err.message);
      throw err;
    }
    const row = this.repo.create({
      id,
      sn: input.sn,
      type: msg.type,
      lines: opts.lines ?? null,
      payload: JSON.parse(wire) as Record<string, unknown>,
      state: 'sent',
      ackCode: null,
      ackMsg: null,
      actor: input.actor?.name ?? 'system',
      actorRole: input.actor?.role ?? null,
      createdAt: new Date(),
      settledAt: null,
      lateAckAt: null,
      lateAckOk: null,
      lateAckCode: null,
      lateAckMsg: null,
      idempotencyKey: opts.idempotency?.key ?? null,
      requestHash: opts.idempotency?.hash ?? null,
    });
    await this.store(row, opts);
    // Stored before publishing: a fast device's ack must find the record.
    try {
      await this.publisher.publish(msg);
    } catch (err) {
      // Never left this process: no record, so a retry (same Idempotency-Key too) starts afresh.
      await this.repo.delete({ id });
      throw err;
    }
    this.arm(row);
    this.emit(row);
    await this.audit.record({
      actor: input.actor,
      action: `command.${row.type}` as AuditActionName,
      target: row.sn,
      outcome: 'ok',
      statusCode: 202,
      detail: { commandId: id, payload: row.payload },
      ip: input.ip ?? null,
    });
    return row;
  }

  private async store(row: Command, opts: DispatchOptions): Promise<void> {
    if (!opts.guard && !opts.idempotency) {
      await this.repo.insert(row as QueryDeepPartialEntity<Command>);
      return;
    }
    try {
      await this.repo.manager.transaction(async (m) => {
        await m.query(`SELECT pg_advisory_xact_lock(hashtext('command:' || $1))`, [row.sn]);
        if (opts.idempotency) await this.expireKey(m, row.actor, opts.idempotency.key);
        await opts.guard?.(m);
        await m.insert(Command, row as QueryDeepPartialEntity<Command>);
      });
    } catch (err) {
      if ((err as { code?: string }).code !== '23505' || !opts.idempotency) throw err;
      // The same key stored concurrently by another request.
      const first = await this.repo.findOneBy({
        actor: row.actor,
        idempotencyKey: opts.idempotency.key,
      });
      if (!first) throw err;
      throw new IdempotentReplay(first);
    }
  }

  /** Keys live for IDEMPOTENCY_TTL_S; after that the key may name a new command. */
  private async expireKey(m: EntityManager, actor: string, key: string): Promise<void> {
    const before = new Date(Date.now() - this.config.commands.idempotencyTtlS * 1000);
    await m.update(
      Command,
      { actor, idempotencyKey: key, createdAt: LessThan(before) },
      { idempotencyKey: null },
    );
  }

  /** The unexpired command stored under this actor's key, if any. */
  async findByIdempotencyKey(actor: Actor | null, key: string): Promise<Command | null> {
    const c = await this.repo.findOneBy({ actor: actor?.name ?? 'system', idempotencyKey: key });
    if (!c) return null;
    const ageS = (Date.now() - c.createdAt.getTime()) / 1000;
    return ageS < this.config.commands.idempotencyTtlS ? c : null;
  }

  private arm(row: Command): void {
    const dueMs = row.createdAt.getTime() + this.config.commands.timeoutS * 1000 - Date.now();
    const t = setTimeout(() => void this.expire(row.id), Math.max(0, dueMs));
    t.unref();
    this.timers.set(row.id, t);
  }

  private async expire(id: string): Promise<void> {
    this.timers.delete(id);
    try {
      const res = await this.repo.update(
        { id, state: 'sent' },
        { state: 'timeout', settledAt: new Date() },
      );
      if (res.affected) await this.settled(id);
    } catch (err) {
      this.log.error(`timeout of ${id}: ${(err as Error).message}`);
    }
  }

  /**
   * Keeps the table from growing without end: final commands older than
   * COMMANDS_KEEP_DAYS go, except those that carried a concentrator's current
   * desired state (its GET still shows them). The audit log keeps the history.
   */
  async prune(): Promise<number> {
    try {
      const res = await this.repo.query(
        `DELETE FROM commands c
          WHERE c.state <> 'sent' AND c.created_at < now() - make_interval(days => $1)
            AND NOT EXISTS (SELECT 1 FROM desired_state d WHERE d.command_id = c.id)
            AND NOT EXISTS (SELECT 1 FROM concentrators k WHERE k.config_command_id = c.id)`,
        [this.config.commands.keepDays],
      );
      return Number((res as [unknown, number])[1] ?? 0);
    } catch (err) {
      this.log.error(`prune failed: ${(err as Error).message}`);
      return 0;
    }
  }

  private async sweep(): Promise<void> {
    const before = new Date(Date.now() - this.config.commands.timeoutS * 1000);
    try {
      const stale = await this.repo.find({
        select: { id: true },
        where: { state: 'sent', createdAt: LessThan(before) },
        take: 1000,
      });
      for (const { id } of stale) if (!this.timers.has(id)) await this.expire(id);
    } catch (err) {
      this.log.error(`timeout sweep failed: ${(err as Error).message}`);
    }
  }

  /**
   * An ack settles the command with this id sent to this serial. An id that is
   * unknown or belongs to another concentrator changes nothing and is a rejection.
   */
  private async onAck({
    dev,
    msg,
    receivedAt,
    reject,
  }: DeviceMessageContext<AckMsg>): Promise<void> {
    const res = await this.repo.update(
      { id: msg.id, sn: dev.sn, state: 'sent' },
      {
        state: msg.ok ? 'acked' : 'failed',
        ackCode: msg.code ?? null,
        ackMsg: msg.msg ?? null,
        settledAt: receivedAt,
      },
    );
    if (res.affected) {
      await this.settled(msg.id);
      return;
    }
    const row = await this.repo.findOneBy({ id: msg.id });
    if (!row || row.sn !== dev.sn) {
      reject({
        reason: 'unknown_command',
        field: 'id',
        detail: row
          ? 'ack for a command sent to another concentrator'
          : 'ack for an unknown command id',
        payload: JSON.stringify(msg),
      });
      return;
    }
    // Already final (timeout, or a repeated ack): kept beside the state, which stays as it was.
    const late = await this.repo.update(
      { id: msg.id, sn: dev.sn, lateAckAt: IsNull() },
      {
        lateAckAt: receivedAt,
        lateAckOk: msg.ok,
        lateAckCode: msg.code ?? null,
        lateAckMsg: msg.msg ?? null,
      },
    );
    if (late.affected) {
      this.log.warn(`late ack for ${row.state} command ${row.id} from ${dev.sn}`);
      const updated = await this.repo.findOneBy({ id: msg.id });
      if (updated) this.emit(updated);
    }
  }

  private async settled(id: string): Promise<void> {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
    const row = await this.repo.findOneBy({ id });
    if (!row) return;
    this.emit(row);
    this.waiters.wake(id);
    for (const l of this.settledListeners) {
      try {
        l(row);
      } catch (err) {
        this.log.error(`settle listener failed for ${id}: ${(err as Error).message}`);
      }
    }
  }

  private emit(row: Command): void {
    this.live.emit({
      kind: 'command',
      sn: row.sn,
      at: (row.settledAt ?? row.createdAt).toISOString(),
      command: { ...toCommandView(row) },
    });
  }
}
