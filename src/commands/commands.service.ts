import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { AuditActionName } from '../audit/audit-actions';
import { AuditService } from '../audit/audit.service';
import { Page } from '../common/pagination.dto';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { CachedConcentrator } from '../concentrators/concentrator-registry.service';
import { ConcentratorsService } from '../concentrators/concentrators.service';
import { Actor } from '../identity/roles';
import { TodevPublisher } from '../mqtt/todev-publisher.service';
import {
  BackendMessage,
  encodeBackendMessage,
  newCommandId,
  ProtocolEncodeError,
} from '../protocol/backend-messages';
import { Command } from './command.entity';
import { CommandSettlement } from './command-settlement.service';
import { CommandCount, CommandStore, LockedCommands } from './command-store';
import { CommandTimeouts } from './command-timeouts.service';
import { toCommandView } from './command-view';
import { CommandView, ListCommandsQuery } from './dto/command.dto';

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
  /** Runs under a per-concentrator lock, before the command is stored; throws to refuse. */
  guard?: (locked: LockedCommands) => Promise<void>;
}

/** The first command stored under an Idempotency-Key, found while storing a new one. */
export class IdempotentReplay extends Error {
  constructor(readonly command: Command) {
    super('idempotent replay');
  }
}

/**
 * Every message to a concentrator's `todev` starts here: checked, stored,
 * published once through TodevPublisher, then followed by CommandTimeouts
 * and the ack handlers until CommandSettlement announces its end. The
 * database row is the truth.
 */
@Injectable()
export class CommandsService {
  constructor(
    private readonly store: CommandStore,
    private readonly timeouts: CommandTimeouts,
    private readonly settlement: CommandSettlement,
    private readonly publisher: TodevPublisher,
    private readonly concentrators: ConcentratorsService,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async get(id: string): Promise<Command> {
    const c = await this.store.byId(id);
    if (!c) throw new NotFoundException(`command ${id} not found`);
    return c;
  }

  /** The command once final, or as it is after `waitS` seconds (woken by the settle, not by polling). */
  async waitFinal(id: string, waitS: number): Promise<Command> {
    const waiting = waitS > 0 ? this.settlement.waitFor(id, waitS * 1000) : undefined;
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
    const [rows, total] = await this.store.page(q);
    return { items: rows.map(toCommandView), total, limit: q.limit, offset: q.offset };
  }

  /** A commandable concentrator: 404 unknown, 409 pending. */
  async target(sn: string): Promise<CachedConcentrator> {
    const dev = await this.concentrators.cached(sn);
    if (dev.state !== 'managed') {
      throw new ConflictException(
        `concentrator ${sn} is pending: adopt it before sending commands`,
      );
    }
    return dev;
  }

  /** How many commands there are of each type and state (for /metrics). */
  counts(): Promise<CommandCount[]> {
    return this.store.countByTypeAndState();
  }

  /** The unexpired command stored under this actor's key, if any. */
  async findByIdempotencyKey(actor: Actor | null, key: string): Promise<Command | null> {
    const c = await this.store.byIdempotencyKey(actor?.name ?? 'system', key);
    if (!c) return null;
    return c.createdAt.getTime() > this.keyExpiredBefore().getTime() ? c : null;
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
    const row = newRow(msg, encode(msg), input.actor, opts);
    const outcome = await this.store.insert(row, {
      guard: opts.guard,
      idempotency: opts.idempotency && {
        key: opts.idempotency.key,
        expiredBefore: this.keyExpiredBefore(),
      },
    });
    if (!outcome.stored) throw new IdempotentReplay(outcome.holder);
    // Stored before publishing: a fast device's ack must find the record.
    try {
      await this.publisher.publish(msg);
    } catch (err) {
      // Never left this process: no record, so a retry (same Idempotency-Key too) starts afresh.
      await this.store.delete(id);
      throw err;
    }
    this.timeouts.arm(row);
    this.settlement.announce(row);
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

  /** Keys live for IDEMPOTENCY_TTL_S; after that the key may name a new command. */
  private keyExpiredBefore(): Date {
    return new Date(Date.now() - this.config.commands.idempotencyTtlS * 1000);
  }
}

function encode(msg: BackendMessage): string {
  try {
    return encodeBackendMessage(msg);
  } catch (err) {
    if (err instanceof ProtocolEncodeError) throw new BadRequestException(err.message);
    throw err;
  }
}

function newRow(
  msg: BackendMessage,
  wire: string,
  actor: Actor | null,
  opts: DispatchOptions,
): Command {
  return Object.assign(new Command(), {
    id: msg.id,
    sn: msg.sn,
    type: msg.type,
    lines: opts.lines ?? null,
    payload: JSON.parse(wire) as Record<string, unknown>,
    state: 'sent',
    ackCode: null,
    ackMsg: null,
    actor: actor?.name ?? 'system',
    actorRole: actor?.role ?? null,
    createdAt: new Date(),
    settledAt: null,
    lateAckAt: null,
    lateAckOk: null,
    lateAckCode: null,
    lateAckMsg: null,
    idempotencyKey: opts.idempotency?.key ?? null,
    requestHash: opts.idempotency?.hash ?? null,
  } satisfies Partial<Command>);
}
