import { looksLikeTelemetry } from './peek';

const b = (s: string) => Buffer.from(s);

describe('looksLikeTelemetry (raw bytes, before parsing)', () => {
  it('recognises telemetry however it is spaced and wherever the key is', () => {
    expect(looksLikeTelemetry(b('{"type":"telemetry","sn":"202005010001","lines":[]}'))).toBe(true);
    expect(looksLikeTelemetry(b('{"sn":"202005010001","type" :\t"telemetry"}'))).toBe(true);
    expect(looksLikeTelemetry(b('{\n  "type": \r\n "telemetry"\n}'))).toBe(true);
  });

  it('never takes another message type for telemetry', () => {
    for (const other of [
      '{"type":"ack","id":"x","ok":true,"msg":"telemetry"}',
      '{"type":"alarm","kind":"telemetry"}',
      '{"type":"config_request","note":"type telemetry"}',
      '{"type":"status","lines":[]}',
      '{"type":"ack","msg":"\\"type\\":\\"telemetry\\""}',
      '"telemetry"',
      '{"telemetry":"type"}',
      '',
      'not json',
    ]) {
      expect(looksLikeTelemetry(b(other))).toBe(false);
    }
  });

  it('finds the type after an earlier "telemetry" that is not it', () => {
    expect(looksLikeTelemetry(b('{"note":"telemetry","type":"telemetry"}'))).toBe(true);
  });

  it('leaves an escaped spelling to the decoder', () => {
    expect(looksLikeTelemetry(b('{"type":"\\u0074elemetry"}'))).toBe(false);
  });
});
