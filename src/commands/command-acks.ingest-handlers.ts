import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DeviceMessageContext } from '../ingestion/device-message-context';
import { IngestionService } from '../ingestion/ingestion.service';
import { AckMsg } from '../protocol/device-messages';
import { CommandSettlement } from './command-settlement.service';
import { AckOutcome, CommandStore } from './command-store';
import { CommandTimeouts } from './command-timeouts.service';

/**
 * Acks → the command with this id sent to this serial. An id that is unknown
 * or belongs to another concentrator changes nothing and is a rejection.
 */
@Injectable()
export class CommandAcksIngestHandlers implements OnModuleInit {
  private readonly log = new Logger('Commands');

  constructor(
    private readonly ingestion: IngestionService,
    private readonly store: CommandStore,
    private readonly timeouts: CommandTimeouts,
    private readonly settlement: CommandSettlement,
  ) {}

  onModuleInit(): void {
    this.ingestion.on('ack', (ctx) => this.onAck(ctx));
  }

  private async onAck({
    dev,
    msg,
    receivedAt,
    reject,
  }: DeviceMessageContext<AckMsg>): Promise<void> {
    const ack: AckOutcome = {
      ok: msg.ok,
      code: msg.code ?? null,
      msg: msg.msg ?? null,
      at: receivedAt,
    };
    if (await this.store.settleByAck(msg.id, dev.sn, ack)) {
      this.timeouts.disarm(msg.id);
      await this.settlement.settled(msg.id);
      return;
    }
    const row = await this.store.byId(msg.id);
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
    // Already final (timeout, or a repeated ack).
    if (await this.store.recordLateAck(msg.id, dev.sn, ack)) {
      this.log.warn(`late ack for ${row.state} command ${row.id} from ${dev.sn}`);
      const updated = await this.store.byId(msg.id);
      if (updated) this.settlement.announce(updated);
    }
  }
}
