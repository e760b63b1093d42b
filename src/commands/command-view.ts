import { Command } from './command.entity';
import { CommandView } from './dto/command.dto';

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

export function toCommandView(c: Command): CommandView {
  return {
    id: c.id,
    sn: c.sn,
    type: c.type,
    lines: c.lines,
    payload: c.payload,
    state: c.state,
    ackCode: c.ackCode,
    ackMsg: c.ackMsg,
    actor: c.actor,
    actorRole: c.actorRole,
    createdAt: c.createdAt.toISOString(),
    settledAt: iso(c.settledAt),
    lateAck: c.lateAckAt
      ? { at: c.lateAckAt.toISOString(), ok: c.lateAckOk, code: c.lateAckCode, msg: c.lateAckMsg }
      : null,
  };
}
