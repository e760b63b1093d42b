import { COPY_NULL, copyText, copyTimestamp } from '../database/copy-text';
import { TelemetryLine } from '../protocol/device-messages';
import { MEASUREMENTS } from '../protocol/measurements';
import { boolArray, numberArray, safeTextArray } from './pg-array';

const M = MEASUREMENTS.length;

/**
 * What one buffered row holds, in bytes: a reference to its serial (the
 * registry's string, shared by every row of the device), the line (int32),
 * device and receive times (float64 each), the switch state (int8) and one
 * float64 per measurement. Rows live in typed arrays, so this is what they
 * take, not a guess about boxed numbers.
 */
export const ROW_BYTES = 8 + 4 + 8 + 8 + 1 + M * 8;
/** A message's `{ sn, seq }` entry and its slot in `messages` (V8: header, two fields, a boxed seq). */
export const MESSAGE_BYTES = 64;
/** The batch object and the headers of its arrays. */
const BATCH_BYTES = 1024;
const MIN_CAPACITY = 16;

/**
 * Rows of telemetry waiting to be written, one typed array per column. A
 * missing measurement is NaN (written as NULL, like the non-finite values the
 * INSERT path never stored either); a missing switch state is -1.
 *
 * Two encodings of the same rows: `copyChunks()`, the COPY text the writer
 * sends normally, and `params()`, the array literals of the INSERT … ON
 * CONFLICT DO NOTHING it falls back to when COPY meets a duplicate.
 */
export class TelemetryBatch {
  private capacity: number;
  private n = 0;
  private readonly sn: string[] = [];
  private line: Int32Array;
  private ts: Float64Array;
  private rcv: Float64Array;
  private on: Int8Array;
  private readonly m: Float64Array[];
  readonly messages: { sn: string; seq?: number }[] = [];
  attempts = 0;
  /** COPY met a duplicate (or a value it cannot carry): this batch goes by INSERT from now on. */
  insertOnly = false;
  /** When its first row was buffered (ms since epoch); 0 while empty. */
  firstAt = 0;

  /** `capacityHint`: rows expected (the last batch's size), so that rows are rarely copied. */
  constructor(capacityHint = MIN_CAPACITY) {
    this.capacity = Math.max(MIN_CAPACITY, Math.ceil(capacityHint));
    this.line = new Int32Array(this.capacity);
    this.ts = new Float64Array(this.capacity);
    this.rcv = new Float64Array(this.capacity);
    this.on = new Int8Array(this.capacity);
    this.m = MEASUREMENTS.map(() => new Float64Array(this.capacity));
  }

  get rows(): number {
    return this.n;
  }

  /** Memory held by the batch: its allocated columns, not only the rows used. */
  get bytes(): number {
    return BATCH_BYTES + this.capacity * ROW_BYTES + this.messages.length * MESSAGE_BYTES;
  }

  /** What `bytes` will be once `rows` more rows of one message are added. */
  bytesWith(rows: number): number {
    const need = this.n + rows;
    const capacity = need > this.capacity ? Math.max(need, this.capacity * 2) : this.capacity;
    return BATCH_BYTES + capacity * ROW_BYTES + (this.messages.length + 1) * MESSAGE_BYTES;
  }

  add(
    sn: string,
    tsMs: number,
    receivedMs: number,
    seq: number | undefined,
    lines: readonly TelemetryLine[],
    nowMs = Date.now(),
  ): void {
    if (this.n === 0) this.firstAt = nowMs;
    const need = this.n + lines.length;
    if (need > this.capacity) this.resize(Math.max(need, this.capacity * 2));
    for (const l of lines) {
      const i = this.n++;
      this.sn.push(sn);
      this.line[i] = l.line;
      this.ts[i] = tsMs;
      this.rcv[i] = receivedMs;
      this.on[i] = l.on === true ? 1 : l.on === false ? 0 : -1;
      for (let k = 0; k < M; k++) this.m[k][i] = l[MEASUREMENTS[k]] ?? NaN;
    }
    this.messages.push({ sn, seq });
  }

  /** Gives back the unused capacity when it is a large share (a sealed batch does not grow). */
  trim(): void {
    if (this.capacity - this.n > this.n / 4 && this.capacity > MIN_CAPACITY) {
      this.resize(Math.max(MIN_CAPACITY, this.n));
    }
  }

  /** The INSERT's parameters: one array literal per column. */
  params(): string[] {
    const n = this.n;
    const on: (boolean | null)[] = new Array<boolean | null>(n);
    for (let i = 0; i < n; i++) on[i] = this.on[i] < 0 ? null : this.on[i] === 1;
    return [
      safeTextArray(this.sn, n),
      numberArray(this.line, n),
      numberArray(this.ts, n),
      numberArray(this.rcv, n),
      boolArray(on, n),
      ...this.m.map((col) => numberArray(col, n)),
    ];
  }

  /**
   * The rows as COPY text (columns in TELEMETRY_COPY_COLUMNS order), in chunks
   * of `rowsPerChunk` rows, so a batch is never one large string in memory.
   * Rows of one message share their serial and times: each is encoded once.
   */
  *copyChunks(rowsPerChunk = 1000): Generator<string> {
    let out = '';
    let lastSn: string | undefined;
    let snText = '';
    let lastTs = NaN;
    let tsText = '';
    let lastRcv = NaN;
    let rcvText = '';
    for (let i = 0; i < this.n; i++) {
      const sn = this.sn[i];
      if (sn !== lastSn) {
        lastSn = sn;
        snText = copyText(sn);
      }
      const ts = this.ts[i];
      if (ts !== lastTs) {
        lastTs = ts;
        tsText = copyTimestamp(ts);
      }
      const rcv = this.rcv[i];
      if (rcv !== lastRcv) {
        lastRcv = rcv;
        rcvText = copyTimestamp(rcv);
      }
      const on = this.on[i];
      let row = `${snText}\t${this.line[i]}\t${tsText}\t${rcvText}\t${on < 0 ? COPY_NULL : on === 1 ? 't' : 'f'}`;
      for (let k = 0; k < M; k++) {
        const v = this.m[k][i];
        // v - v is 0 for a finite number, NaN for NaN and ±Infinity.
        row += v - v === 0 ? '\t' + String(v) : '\t' + COPY_NULL;
      }
      out += row + '\n';
      if ((i + 1) % rowsPerChunk === 0) {
        yield out;
        out = '';
      }
    }
    if (out) yield out;
  }

  private resize(capacity: number): void {
    const n = this.n;
    const grow = <T extends Int32Array | Float64Array | Int8Array>(
      a: T,
      make: (c: number) => T,
    ) => {
      const b = make(capacity);
      b.set(a.subarray(0, n));
      return b;
    };
    this.line = grow(this.line, (c) => new Int32Array(c));
    this.ts = grow(this.ts, (c) => new Float64Array(c));
    this.rcv = grow(this.rcv, (c) => new Float64Array(c));
    this.on = grow(this.on, (c) => new Int8Array(c));
    for (let k = 0; k < M; k++) this.m[k] = grow(this.m[k], (c) => new Float64Array(c));
    this.capacity = capacity;
  }
}
