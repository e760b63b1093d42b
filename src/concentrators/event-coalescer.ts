/** A device event before it becomes a row. */
export interface CoalescableEvent {
  sn: string;
  kind: string;
  line?: number | null;
  detail?: Record<string, unknown> | null;
}

/**
 * Which events a device's own traffic can repeat at will, and what makes two
 * of them "the same": connectivity by reason, clock flags, serial mismatches
 * (whatever serial the payload claimed, else a hostile sender cycling serials
 * would open a row each), switch changes by line, state and cause. Registry
 * changes made by people (created, adopted, …) are never coalesced.
 */
export function coalesceKey(e: CoalescableEvent): string | undefined {
  switch (e.kind) {
    case 'online':
    case 'offline':
      return `${e.sn}|${e.kind}|${String(e.detail?.reason ?? '')}`;
    case 'clock_skew':
    case 'clock_ok':
    case 'serial_mismatch':
      return `${e.sn}|${e.kind}`;
    case 'status':
      return `${e.sn}|status|${e.line ?? ''}|${String(e.detail?.on)}|${String(e.detail?.cause)}`;
    default:
      return undefined;
  }
}

/** The open row of a run of identical events. */
export interface EventSlot {
  /** Server time of the first occurrence: the window runs from here. */
  readonly openedMs: number;
  /** The row, once its insert returned. */
  id?: string;
  /** The first insert failed: repeats in this window are counted as unrecorded. */
  lost: boolean;
  /** Occurrences in the row, the first included, counting those not written yet. */
  count: number;
  /** Repeats counted here but not yet added to the row. */
  pending: number;
  /** Event time of the newest repeat not yet written. */
  pendingLastMs: number;
}

export type Offer = { first: true; slot: EventSlot } | { first: false; slot: EventSlot };

/**
 * Keeps, per key, the row that repeats within `windowMs` of its first
 * occurrence are added to. Pure bookkeeping: the caller inserts a row for a
 * `first`, and writes `pending` counts of dirty slots in one batch.
 */
export class EventCoalescer {
  private readonly slots = new Map<string, EventSlot>();
  /** Slots a newer window replaced while they still had something to write. */
  private retired: EventSlot[] = [];

  constructor(
    private readonly windowMs: number,
    // Stays well inside the int4 `occurrences` column.
    private readonly maxCount = 1_000_000_000,
  ) {}

  get size(): number {
    return this.slots.size;
  }

  offer(key: string, atMs: number, nowMs: number): Offer {
    const open = this.slots.get(key);
    if (open && nowMs - open.openedMs < this.windowMs && open.count < this.maxCount) {
      open.count++;
      if (!open.lost) {
        open.pending++;
        open.pendingLastMs = Math.max(open.pendingLastMs, atMs);
      }
      return { first: false, slot: open };
    }
    if (open && !isSettled(open)) this.retired.push(open);
    const slot: EventSlot = {
      openedMs: nowMs,
      lost: false,
      count: 1,
      pending: 0,
      pendingLastMs: 0,
    };
    this.slots.set(key, slot);
    return { first: true, slot };
  }

  /** The first insert failed; returns the repeats counted meanwhile (now unrecorded too). */
  markLost(slot: EventSlot): number {
    slot.lost = true;
    const n = slot.pending;
    slot.pending = 0;
    return n;
  }

  /** Slots whose row exists and has repeats to add. */
  dirty(): EventSlot[] {
    const out: EventSlot[] = [];
    for (const s of [...this.slots.values(), ...this.retired]) {
      if (s.id !== undefined && s.pending > 0) out.push(s);
    }
    return out;
  }

  /** Forgets slots whose window has passed and that have nothing left to write. */
  sweep(nowMs: number): void {
    for (const [key, s] of this.slots) {
      if (nowMs - s.openedMs >= this.windowMs && isSettled(s)) this.slots.delete(key);
    }
    this.retired = this.retired.filter((s) => !isSettled(s));
  }

  /**
   * A serial deleted or registered anew: its runs end here. Repeats not yet
   * written still go to their rows (the history outlives the registration).
   */
  forget(sn: string): void {
    for (const [key, s] of this.slots) {
      if (!key.startsWith(`${sn}|`)) continue;
      this.slots.delete(key);
      if (!isSettled(s)) this.retired.push(s);
    }
  }

  /** Repeats that will never be written (shutdown): returns how many, and clears them. */
  abandon(): number {
    let n = 0;
    for (const s of [...this.slots.values(), ...this.retired]) {
      n += s.pending;
      s.pending = 0;
    }
    this.slots.clear();
    this.retired = [];
    return n;
  }
}

/** Nothing left to write: the row exists (or is lost) and holds every repeat. */
function isSettled(s: EventSlot): boolean {
  return s.lost || (s.id !== undefined && s.pending === 0);
}
