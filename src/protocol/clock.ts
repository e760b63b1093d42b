export const MAX_AHEAD_S = 600;
export const MAX_BEHIND_S = 7 * 24 * 3600;

/**
 * When to file a device sample. A device clock outside [now-7d, now+10min]
 * (both bounds inclusive) is not trusted and the server's receive time is used
 * instead, flagged so the concentrator can be marked as clock-skewed. A
 * missing ts (e.g. the will message) is not the device's fault: server time,
 * not flagged.
 */
export function trustedTime(
  deviceTs: number | undefined,
  nowMs: number,
): { at: Date; skewed: boolean } {
  if (deviceTs === undefined) return { at: new Date(nowMs), skewed: false };
  const deviceMs = deviceTs * 1000;
  if (
    !Number.isFinite(deviceMs) ||
    deviceMs > nowMs + MAX_AHEAD_S * 1000 ||
    deviceMs < nowMs - MAX_BEHIND_S * 1000
  ) {
    return { at: new Date(nowMs), skewed: true };
  }
  return { at: new Date(deviceMs), skewed: false };
}
