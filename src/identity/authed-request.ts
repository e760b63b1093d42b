import type { Request } from 'express';
import type { Actor } from './roles';

/** A request once the auth guard has named its caller. */
export type AuthedRequest = Request & { actor?: Actor };
