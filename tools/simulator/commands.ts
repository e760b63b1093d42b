import {
  ACK,
  COMMAND_TYPES,
  Command,
  CommandType,
  HHMM_RE,
  ID_RE,
  Json,
  LineParams,
  PARAM_FIELDS,
  QUERY_WHAT,
  QueryWhat,
  ScheduleItem,
} from './protocol';

export type Validation =
  { ok: true; cmd: Command } | { ok: false; code: number; msg: string; id?: string; type?: string };

class Reject extends Error {
  constructor(
    readonly code: number,
    msg: string,
  ) {
    super(msg);
  }
}

const bad = (msg: string): never => {
  throw new Reject(ACK.badRequest, msg);
};

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function intIn(v: unknown, min: number, max: number, field: string): number {
  if (!isInt(v) || v < min || v > max) bad(`${field} must be an integer ${min}-${max}`);
  return v as number;
}

/** Line numbers the protocol allows but this concentrator lacks get code 2, not 1. */
function lineList(v: unknown, lineCount: number, field: string): number[] {
  if (!Array.isArray(v) || v.length === 0) bad(`${field} must be a non-empty list`);
  const lines = (v as unknown[]).map((n) => intIn(n, 1, 64, field));
  if (new Set(lines).size !== lines.length) bad(`${field} has duplicates`);
  const missing = lines.find((n) => n > lineCount);
  if (missing !== undefined) throw new Reject(ACK.unknownLine, `unknown line ${missing}`);
  return lines;
}

function parseConfig(m: Json): Omit<Extract<Command, { type: 'config' }>, 'type' | 'id'> {
  const out: { report_s?: number; heartbeat_s?: number; delta_pct?: number; ts?: number } = {};
  if (m.report_s !== undefined) out.report_s = intIn(m.report_s, 5, 3600, 'report_s');
  if (m.heartbeat_s !== undefined) out.heartbeat_s = intIn(m.heartbeat_s, 10, 600, 'heartbeat_s');
  if (m.delta_pct !== undefined) {
    const d = m.delta_pct;
    if (typeof d !== 'number' || !Number.isFinite(d) || d < 0 || d > 100) {
      bad('delta_pct must be a number 0-100');
    }
    out.delta_pct = d as number;
  }
  out.ts = m.ts as number;
  return out;
}

function parseSchedule(v: unknown, i: number, lineCount: number): ScheduleItem {
  const f = `items[${i}]`;
  if (!isObject(v)) return bad(`${f} must be an object`);
  const slot = intIn(v.slot, 1, 24, `${f}.slot`);
  const lines = lineList(v.lines, lineCount, `${f}.lines`);
  if (typeof v.on !== 'boolean') bad(`${f}.on must be boolean`);
  if (typeof v.at !== 'string' || !HHMM_RE.test(v.at)) bad(`${f}.at must be HH:MM`);
  if (!Array.isArray(v.days) || v.days.length === 0) bad(`${f}.days must be a non-empty list`);
  const days = (v.days as unknown[]).map((d) => intIn(d, 1, 7, `${f}.days`));
  if (typeof v.enabled !== 'boolean') bad(`${f}.enabled must be boolean`);
  return {
    slot,
    lines,
    on: v.on as boolean,
    at: v.at as string,
    days,
    enabled: v.enabled as boolean,
  };
}

function parseSchedules(m: Json, lineCount: number): ScheduleItem[] {
  if (!Array.isArray(m.items) || m.items.length > 24) bad('items must be a list of at most 24');
  const items = (m.items as unknown[]).map((v, i) => parseSchedule(v, i, lineCount));
  if (new Set(items.map((s) => s.slot)).size !== items.length) bad('items: duplicate slot');
  return items;
}

function parseParams(m: Json, lineCount: number): LineParams[] {
  if (!Array.isArray(m.lines) || m.lines.length === 0) bad('lines must be a non-empty list');
  return (m.lines as unknown[]).map((v, i) => {
    if (!isObject(v)) return bad(`lines[${i}] must be an object`);
    const line = intIn(v.line, 1, 64, `lines[${i}].line`);
    if (line > lineCount) throw new Reject(ACK.unknownLine, `unknown line ${line}`);
    const out: LineParams = { line };
    for (const k of PARAM_FIELDS) {
      const x = v[k];
      if (x === undefined) continue;
      if (typeof x !== 'number' || !Number.isFinite(x)) bad(`lines[${i}].${k} must be a number`);
      out[k] = x as number;
    }
    return out;
  });
}

function parseUpgrade(m: Json): Omit<Extract<Command, { type: 'upgrade' }>, 'type' | 'id'> {
  let url: URL | undefined;
  try {
    url = new URL(String(m.url));
  } catch {
    bad('url is not a URL');
  }
  if (typeof m.url !== 'string' || !url || !['http:', 'https:'].includes(url.protocol)) {
    bad('url must be http(s)');
  }
  if (typeof m.version !== 'string' || m.version.length === 0) bad('version is required');
  if (typeof m.sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(m.sha256)) {
    bad('sha256 must be 64 hex');
  }
  if (!isInt(m.size) || m.size <= 0) bad('size must be a positive integer');
  return {
    url: m.url as string,
    version: m.version as string,
    sha256: (m.sha256 as string).toLowerCase(),
    size: m.size as number,
  };
}

function parseBody(type: CommandType, id: string, m: Json, lineCount: number): Command {
  switch (type) {
    case 'config':
      return { type, id, ...parseConfig(m) };
    case 'switch': {
      const lines = m.lines === 'all' ? 'all' : lineList(m.lines, lineCount, 'lines');
      if (typeof m.on !== 'boolean') bad('on must be boolean');
      return { type, id, lines, on: m.on as boolean };
    }
    case 'schedules':
      return { type, id, items: parseSchedules(m, lineCount) };
    case 'params':
      return { type, id, lines: parseParams(m, lineCount) };
    case 'query':
      if (!QUERY_WHAT.includes(m.what as QueryWhat)) bad(`what must be ${QUERY_WHAT.join('|')}`);
      return { type, id, what: m.what as QueryWhat };
    case 'reboot':
      return { type, id };
    case 'upgrade':
      return { type, id, ...parseUpgrade(m) };
  }
}

export function parseJson(raw: Buffer | string): Json | undefined {
  try {
    const v: unknown = JSON.parse(raw.toString('utf8'));
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks a todev message the way a strict device would, so that backend bugs
 * surface as `ack ok:false` with a reason instead of being silently tolerated.
 * The id is echoed only when it is a valid id, because the backend cannot
 * correlate anything else anyway.
 */
export function validateCommand(m: Json | undefined, sn: string, lineCount: number): Validation {
  if (!m) return { ok: false, code: ACK.badRequest, msg: 'bad json' };
  const id = typeof m.id === 'string' && ID_RE.test(m.id) ? m.id : undefined;
  const type = typeof m.type === 'string' ? m.type : undefined;
  const fail = (code: number, msg: string): Validation => ({ ok: false, code, msg, id, type });
  if (!id) return fail(ACK.badRequest, 'bad or missing id');
  if (m.sn !== sn) return fail(ACK.badRequest, 'sn mismatch');
  if (!type) return fail(ACK.badRequest, 'missing type');
  if (!COMMAND_TYPES.includes(type as CommandType))
    return fail(ACK.unsupported, 'unsupported type');
  if (!isInt(m.ts) || m.ts < 0) return fail(ACK.badRequest, 'ts must be an integer');
  try {
    return { ok: true, cmd: parseBody(type as CommandType, id, m, lineCount) };
  } catch (e) {
    if (e instanceof Reject) return fail(e.code, e.message);
    throw e;
  }
}
