import { DEVICE_MESSAGE_SCHEMAS, type DeviceMessage } from './device-messages';
import { fastTelemetry } from './fast-telemetry';
import { firstIssue } from './fields';
import type { RejectionReason } from './rejections';
import { safeLogString } from './sanitize';
import { isSerial } from './serial';

export interface DecodeOptions {
  maxBytes: number;
}

export type DecodeResult =
  | { ok: true; msg: DeviceMessage }
  | { ok: false; reason: RejectionReason; field?: string; detail: string; payloadSn?: string };

const MAX_DETAIL = 200;
// `fatal` so malformed UTF-8 is a bad_json rejection instead of being silently
// turned into U+FFFD and stored.
const utf8 = new TextDecoder('utf-8', { fatal: true });

function reject(
  reason: RejectionReason,
  detail: string,
  extra?: { field?: string; payloadSn?: string },
): DecodeResult {
  if (detail.length > MAX_DETAIL) {
    let cut = MAX_DETAIL - 1;
    // never leave half a surrogate pair behind
    if (/[\ud800-\udbff]/.test(detail[cut - 1])) cut--;
    detail = detail.slice(0, cut) + '…';
  }
  return { ok: false, reason, detail, ...extra };
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  return Array.isArray(v) ? 'array' : typeof v;
}

/**
 * Turns one `fromdev` payload into a validated message or a rejection. Never
 * throws. `topicSn` must already be a valid serial (from parseFromdevTopic).
 */
export function decodeDeviceMessage(
  topicSn: string,
  payload: Buffer,
  opts: DecodeOptions,
): DecodeResult {
  if (payload.length > opts.maxBytes) {
    return reject('too_large', `payload is ${payload.length} bytes, limit ${opts.maxBytes}`);
  }

  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(payload));
  } catch (e) {
    const why = e instanceof Error ? e.message : 'parse error';
    return reject('bad_json', `not valid UTF-8 JSON: ${safeLogString(why, 120)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return reject('bad_json', `payload is a JSON ${kindOf(value)}, not an object`);
  }

  const obj = value as Record<string, unknown>;
  const sn = obj.sn;
  if (!isSerial(sn)) {
    const shown = typeof sn === 'string' ? `"${safeLogString(sn, 32)}"` : kindOf(sn);
    return reject('bad_serial', `sn must be a string of 12 ASCII digits, got ${shown}`, {
      field: 'sn',
    });
  }
  if (sn !== topicSn) {
    return reject('serial_mismatch', `payload sn ${sn} differs from topic sn ${topicSn}`, {
      payloadSn: sn,
    });
  }

  const type = obj.type;
  // A Map lookup, so `__proto__`/`constructor` can never resolve to anything.
  const schema = typeof type === 'string' ? DEVICE_MESSAGE_SCHEMAS.get(type) : undefined;
  if (!schema) {
    const shown = typeof type === 'string' ? `"${safeLogString(type, 32)}"` : kindOf(type);
    return reject('unknown_type', `unknown message type ${shown}`, { field: 'type' });
  }

  if (type === 'telemetry') {
    // The hot path: the same rules, without the schema's generic walk; anything unusual
    // goes on to the schema, which decides and words the rejection.
    const fast = fastTelemetry(obj);
    if (fast) return { ok: true, msg: fast };
  }
  const parsed = schema.safeParse(obj);
  if (!parsed.success) {
    const { field, detail } = firstIssue(parsed.error);
    return reject('invalid_payload', field ? `${field}: ${detail}` : detail, {
      ...(field ? { field } : {}),
    });
  }
  return { ok: true, msg: parsed.data };
}
