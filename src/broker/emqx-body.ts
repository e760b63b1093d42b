import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { json } from 'express';

/** What EMQX reads when the body could not even be parsed: a refusal, never an error status. */
export const DENY = { result: 'deny' } as const;

/**
 * JSON body parsing for the EMQX hooks, mounted before the app's general
 * parser. EMQX treats a 4xx/5xx answer as "ignore" and moves on down its
 * chain, so a malformed or oversized body must still be answered 200 "deny".
 */
export function emqxHookBodyParser(): (RequestHandler | ErrorHandler)[] {
  const parse = json({ limit: '16kb', type: () => true });
  // Four parameters: that is how express recognises an error handler.
  const denyOnError: ErrorHandler = (_err, _req, res, _next) => {
    res.status(200).json(DENY);
  };
  return [parse, denyOnError];
}

type ErrorHandler = (err: unknown, req: Request, res: Response, next: NextFunction) => void;
