import type { AppConfig } from '../config/app-config';
import type { Concentrator } from './entities/concentrator.entity';

/**
 * The desired config a new concentrator starts with. By default none: a
 * device keeps the report period it was commissioned with until an operator
 * sets one, instead of being silently overridden by a fleet default.
 */
export function initialConfig(
  d: AppConfig['deviceDefaults'],
): Pick<Concentrator, 'reportS' | 'heartbeatS' | 'deltaPct' | 'configSync'> {
  return d.push
    ? { reportS: d.reportS, heartbeatS: d.heartbeatS, deltaPct: d.deltaPct, configSync: 'pending' }
    : { reportS: null, heartbeatS: null, deltaPct: null, configSync: null };
}
