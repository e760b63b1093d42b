import { InitialSchema1732240000000 } from './1732240000000-initial-schema';

// Listed explicitly (not globbed) so the same list works from ts-jest, ts-node and dist.
export const MIGRATIONS = [InitialSchema1732240000000];
