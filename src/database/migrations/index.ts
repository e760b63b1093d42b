import { InitialSchema1732240000000 } from './1732240000000-initial-schema';
import { AuditLog1732240100000 } from './1732240100000-audit-log';
import { Commands1732240200000 } from './1732240200000-commands';

// Listed explicitly (not globbed) so the same list works from ts-jest, ts-node and dist.
// Append new migrations at the end, in timestamp order.
export const MIGRATIONS = [
  InitialSchema1732240000000,
  AuditLog1732240100000,
  Commands1732240200000,
];
