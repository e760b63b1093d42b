import { SetMetadata } from '@nestjs/common';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const MIN_ROLE_KEY = 'minRole';
/** The lowest role allowed to call a route; every /api/v1 route declares one. */
export const MinRole = (role: Role) => SetMetadata(MIN_ROLE_KEY, role);

export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export interface Actor {
  name: string;
  role: Role;
  tokenId?: string;
}
