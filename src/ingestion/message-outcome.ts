import { isDatabaseUnavailable } from '../database/database-errors';
import type { RejectionReason } from '../protocol/rejections';

/**
 * Why the service itself lost a device message (as opposed to refusing it):
 * - `buffer_full`: telemetry the bounded buffer could not take;
 * - `database_unavailable`: the database could not be reached or did not answer
 *   in time (e.g. discovering a new serial during an outage);
 * - `handler_failed`: any other failure while applying the message;
 * - `shutdown`: arrived after ingestion stopped taking messages;
 * - `overload`: telemetry dropped as raw bytes, before it was parsed, while the
 *   telemetry buffer was above its shedding mark and the database busy but
 *   writing (its rows were never counted: they were never decoded).
 */
export const DROP_REASONS = [
  'buffer_full',
  'overload',
  'database_unavailable',
  'handler_failed',
  'shutdown',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** What became of one device message; each message ends with exactly one. */
export type MessageOutcome =
  | { kind: 'accepted' }
  | { kind: 'rejected'; reason: RejectionReason }
  | { kind: 'dropped'; reason: DropReason };

export const ACCEPTED: MessageOutcome = { kind: 'accepted' };

export function rejected(reason: RejectionReason): MessageOutcome {
  return { kind: 'rejected', reason };
}

export function dropped(reason: DropReason): MessageOutcome {
  return { kind: 'dropped', reason };
}

/** The drop reason of an error thrown while applying a message. */
export function failureReason(err: unknown): DropReason {
  return isDatabaseUnavailable(err) ? 'database_unavailable' : 'handler_failed';
}

/**
 * The outcome of a message that several handlers applied: the first refusal or
 * loss any of them signalled, else accepted. One message, one outcome, so the
 * counts add up however many features handle a type.
 */
export class OutcomeLatch {
  private first?: MessageOutcome;

  set(outcome: MessageOutcome): boolean {
    if (this.first) return false;
    this.first = outcome;
    return true;
  }

  get decided(): boolean {
    return this.first !== undefined;
  }

  get outcome(): MessageOutcome {
    return this.first ?? ACCEPTED;
  }
}
