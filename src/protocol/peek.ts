const TELEMETRY = Buffer.from('"telemetry"');
const TYPE = Buffer.from('"type"');
const COLON = 0x3a;

function isJsonSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/**
 * Whether raw `fromdev` bytes look like a telemetry message, without parsing
 * them: a `"type"` key followed (JSON whitespace allowed) by the string
 * `"telemetry"`. Only for shedding load before the decoder: a false answer
 * costs nothing (the message is decoded as usual), and no other message type
 * carries that key-value pair, so acks, alarms and config requests are never
 * taken for telemetry. A telemetry message spelled with escapes
 * (`"\u0074elemetry"`) is not recognised, and is decoded.
 */
export function looksLikeTelemetry(payload: Buffer): boolean {
  let from = 0;
  for (;;) {
    const at = payload.indexOf(TELEMETRY, from);
    if (at < 0) return false;
    from = at + 1;
    let i = at - 1;
    while (i >= 0 && isJsonSpace(payload[i])) i--;
    if (i < 0 || payload[i] !== COLON) continue;
    i--;
    while (i >= 0 && isJsonSpace(payload[i])) i--;
    const start = i - TYPE.length + 1;
    if (start >= 0 && payload.compare(TYPE, 0, TYPE.length, start, i + 1) === 0) return true;
  }
}
