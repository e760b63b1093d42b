import { REJECTION_REASONS, type RejectionReason } from './rejections';

describe('REJECTION_REASONS', () => {
  it('lists every reason once, including all protocol.md §5 reasons', () => {
    expect(new Set(REJECTION_REASONS).size).toBe(REJECTION_REASONS.length);
    const required: RejectionReason[] = [
      'bad_topic',
      'too_large',
      'bad_json',
      'bad_serial',
      'serial_mismatch',
      'unknown_type',
      'invalid_payload',
      'unknown_device',
    ];
    for (const r of required) expect(REJECTION_REASONS).toContain(r);
    expect(REJECTION_REASONS).toContain('unknown_command');
    expect(REJECTION_REASONS).toContain('buffer_full');
  });
});
