export const REJECTION_REASONS = [
  'bad_topic',
  'too_large',
  'bad_json',
  'bad_serial',
  'serial_mismatch',
  'unknown_type',
  'invalid_payload',
  'unknown_device',
  'unknown_command',
  'buffer_full',
] as const;

export type RejectionReason = (typeof REJECTION_REASONS)[number];
