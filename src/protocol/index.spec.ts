import * as protocol from './index';

describe('protocol index', () => {
  it('re-exports the public API', () => {
    for (const name of [
      'SERIAL_RE',
      'isSerial',
      'validateTopicRoot',
      'fromdevTopic',
      'todevTopic',
      'subscriptionTopic',
      'parseFromdevTopic',
      'REJECTION_REASONS',
      'DEVICE_MESSAGE_TYPES',
      'IO_KINDS',
      'STATUS_CAUSES',
      'ALARM_CODES',
      'UPGRADE_STATES',
      'TelemetryMsg',
      'decodeDeviceMessage',
      'encodeBackendMessage',
      'newCommandId',
      'COMMAND_ID_RE',
      'ProtocolEncodeError',
      'SCHEDULE_ITEM_SCHEMA',
      'PARAMS_LINE_SCHEMA',
      'BACKEND_MESSAGE_TYPES',
      'MAX_AHEAD_S',
      'MAX_BEHIND_S',
      'trustedTime',
      'sanitizeExcerpt',
      'safeLogString',
      'compareVersions',
    ]) {
      expect(protocol).toHaveProperty(name);
    }
  });

  it('round-trips a command id through ack decoding', () => {
    const id = protocol.newCommandId('switch');
    const sn = '202005010001';
    const r = protocol.decodeDeviceMessage(
      sn,
      Buffer.from(JSON.stringify({ sn, type: 'ack', ts: 1, id, ok: true })),
      { maxBytes: 1024 },
    );
    expect(r).toEqual({ ok: true, msg: { sn, type: 'ack', ts: 1, id, ok: true } });
  });
});
