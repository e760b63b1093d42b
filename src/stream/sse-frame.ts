import { LiveEvent } from '../live/live-feed.service';
import { API_NAME } from '../common/measurement-names';

const MEASUREMENT_KEYS = new Map<string, string>(Object.entries(API_NAME));

/** Telemetry lines arrive in protocol (snake_case) names; the API speaks camelCase. */
function apiLine(line: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(line)) out[MEASUREMENT_KEYS.get(k) ?? k] = v;
  return out;
}

export function eventData(e: LiveEvent): LiveEvent {
  return e.kind === 'telemetry' ? { ...e, lines: e.lines.map(apiLine) } : e;
}

/** One SSE frame. JSON never contains a raw newline, so `data:` is a single line. */
export function sseFrame(id: number, e: LiveEvent): string {
  return `id: ${id}\nevent: ${e.kind}\ndata: ${JSON.stringify(eventData(e))}\n\n`;
}
