import { StatusLine } from '../protocol/device-messages';

interface Known {
  on: boolean;
  cause: string;
  atMs: number;
}

/**
 * Decides which lines of a `status` message are changes worth a history row.
 * A `query what=status` answer repeats every line's state and cause; those
 * repeats are not changes. Memory only: after a restart the first report of
 * each line counts as a change (its previous state is not known here).
 */
export class StatusChangeTracker {
  private readonly bySn = new Map<string, Map<number, Known>>();

  changes(sn: string, atMs: number, lines: StatusLine[]): StatusLine[] {
    let known = this.bySn.get(sn);
    if (!known) this.bySn.set(sn, (known = new Map<number, Known>()));
    const out: StatusLine[] = [];
    for (const l of lines) {
      const cause = l.cause ?? 'unknown';
      const prev = known.get(l.line);
      if (prev && prev.on === l.on && prev.cause === cause) continue;
      out.push(l);
      // A late (older) report is history worth recording but must not
      // become the reference state for what follows.
      if (!prev || atMs >= prev.atMs) known.set(l.line, { on: l.on, cause, atMs });
    }
    return out;
  }

  forget(sn: string): void {
    this.bySn.delete(sn);
  }
}
