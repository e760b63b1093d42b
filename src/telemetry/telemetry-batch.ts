import { TelemetryLine } from '../protocol/device-messages';
import { boolArray, numberArray, safeTextArray } from './pg-array';
import { MEASUREMENTS, Measurement } from '../protocol/measurements';

/**
 * Rows kept as one array per column: that is the shape the unnest() insert
 * takes, so a batch goes to the driver without any reshaping.
 */
export class TelemetryBatch {
  readonly sn: string[] = [];
  readonly line: number[] = [];
  readonly ts: number[] = [];
  readonly rcv: number[] = [];
  readonly on: (boolean | null)[] = [];
  readonly m: Record<Measurement, (number | null)[]> = Object.fromEntries(
    MEASUREMENTS.map((k) => [k, [] as (number | null)[]]),
  ) as Record<Measurement, (number | null)[]>;
  readonly messages: { sn: string; seq?: number }[] = [];
  attempts = 0;

  get rows(): number {
    return this.sn.length;
  }

  add(
    sn: string,
    tsMs: number,
    receivedMs: number,
    seq: number | undefined,
    lines: TelemetryLine[],
  ): void {
    for (const l of lines) {
      this.sn.push(sn);
      this.line.push(l.line);
      this.ts.push(tsMs);
      this.rcv.push(receivedMs);
      this.on.push(l.on ?? null);
      for (const k of MEASUREMENTS) this.m[k].push(l[k] ?? null);
    }
    this.messages.push({ sn, seq });
  }

  /** The INSERT's parameters: one array literal per column. */
  params(): string[] {
    return [
      safeTextArray(this.sn),
      numberArray(this.line),
      numberArray(this.ts),
      numberArray(this.rcv),
      boolArray(this.on),
      ...MEASUREMENTS.map((k) => numberArray(this.m[k])),
    ];
  }
}
