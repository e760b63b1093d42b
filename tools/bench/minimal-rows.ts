import { MEASUREMENTS } from '../../src/protocol/measurements';

/** The columns of `telemetry`, in the order the COPY text carries them. */
export const COPY_COLUMNS = ['sn', 'line', 'ts', 'received_at', 'is_on', ...MEASUREMENTS] as const;

export type Decoded =
  | { kind: 'rows'; text: string; rows: number }
  | { kind: 'rejected'; reason: string }
  /** Another message type (config_request, offline…): not the minimal pipeline's business. */
  | { kind: 'ignored' };

const SN_RE = /^[0-9]{12}$/;
/** Seconds that `new Date()` turns into a valid ISO string (±100 million days). */
const MAX_TS_S = 8.64e12;

const rejected = (reason: string): Decoded => ({ kind: 'rejected', reason });

function num(v: unknown): string {
  return typeof v === 'number' && Number.isFinite(v) ? String(v) : '\\N';
}

/**
 * What the minimal pipeline does to one message: JSON.parse, the serial check
 * (the topic's serial is the payload's `sn`), and one COPY text line per
 * telemetry line. Only what keeps a COPY from failing is checked besides: a
 * line number, a time, numbers where numbers go (anything else becomes NULL).
 */
export function decodeTelemetry(topicSn: string, payload: Buffer, receivedIso: string): Decoded {
  let msg: unknown;
  try {
    msg = JSON.parse(payload.toString('utf8'));
  } catch {
    return rejected('bad_json');
  }
  if (typeof msg !== 'object' || msg === null) return rejected('bad_json');
  const m = msg as { sn?: unknown; type?: unknown; ts?: unknown; lines?: unknown };
  if (m.sn !== topicSn || !SN_RE.test(topicSn)) return rejected('sn_mismatch');
  if (m.type !== 'telemetry') return { kind: 'ignored' };
  const { ts, lines } = m;
  if (typeof ts !== 'number' || !(Math.abs(ts) < MAX_TS_S)) return rejected('bad_ts');
  if (!Array.isArray(lines) || lines.length === 0) return rejected('bad_lines');
  const prefix = `${topicSn}\t`;
  const times = `\t${new Date(ts * 1000).toISOString()}\t${receivedIso}\t`;
  let text = '';
  for (const l of lines as unknown[]) {
    if (typeof l !== 'object' || l === null) return rejected('bad_lines');
    const line = l as Record<string, unknown>;
    const n = line.line;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 64) {
      return rejected('bad_lines');
    }
    text += prefix + n + times + (typeof line.on === 'boolean' ? String(line.on) : '\\N');
    for (const k of MEASUREMENTS) text += '\t' + num(line[k]);
    text += '\n';
  }
  return { kind: 'rows', text, rows: lines.length };
}
