/**
 * Every action the audit trail records, in one list: what `GET /api/v1/audit`
 * can be filtered by, and what a typo in a service cannot invent.
 */
export const AUDIT_ACTIONS = [
  'access.denied',
  'alarm.ack',
  'certificate.issue',
  'certificate.revoke',
  'command.config',
  'command.params',
  'command.query',
  'command.reboot',
  'command.schedules',
  'command.switch',
  'command.upgrade',
  'concentrator.adopt',
  'concentrator.create',
  'concentrator.delete',
  'concentrator.release',
  'concentrator.update',
  'credentials.issue',
  'credentials.rotate',
  'desired.config',
  'desired.params',
  'desired.schedules',
  'firmware.delete',
  'firmware.upload',
  'line.rename',
  'pki.init',
  'tariff.put',
  'token.create',
  'token.revoke',
  'upgrade.cancel',
  'upgrade.create',
] as const;

export type AuditActionName = (typeof AUDIT_ACTIONS)[number];
