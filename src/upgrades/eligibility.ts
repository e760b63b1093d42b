import { compareVersions } from '../protocol/version';

/** Why a target does not get the upgrade; recorded on the target as state `skipped`. */
export type SkipReason = 'downgrade' | 'already_current' | 'model_mismatch' | 'busy';

export interface TargetFacts {
  /** Firmware version the concentrator last reported in config_request, if ever. */
  fw: string | null;
  model: string | null;
}

export interface CampaignFacts {
  version: string;
  /** Model the uploaded image is labelled for; null = any. */
  model: string | null;
  allowDowngrade: boolean;
}

/**
 * Decides whether one target may be sent the upgrade. An unknown running
 * version is not a refusal: it is checked again just before sending, when
 * the device has reported its version on connect.
 */
export function skipReason(target: TargetFacts, campaign: CampaignFacts): SkipReason | undefined {
  if (
    campaign.model &&
    target.model &&
    campaign.model.toLowerCase() !== target.model.toLowerCase()
  ) {
    return 'model_mismatch';
  }
  if (target.fw === null || campaign.allowDowngrade) return undefined;
  const c = compareVersions(campaign.version, target.fw);
  if (c < 0) return 'downgrade';
  if (c === 0) return 'already_current';
  return undefined;
}

export function describeSkip(
  reason: SkipReason,
  target: TargetFacts,
  campaign: CampaignFacts,
): string {
  switch (reason) {
    case 'downgrade':
      return `downgrade refused: device runs ${target.fw}, campaign version ${campaign.version} (set allowDowngrade to force)`;
    case 'already_current':
      return `device already runs ${target.fw} (set allowDowngrade to reinstall)`;
    case 'model_mismatch':
      return `firmware is for model ${campaign.model}, device is ${target.model}`;
    case 'busy':
      return 'device is in another running upgrade campaign';
  }
}

export interface DeviceFacts extends TargetFacts {
  sn: string;
}

/** One target as a new campaign records it: queued (no reason), or skipped with the reason. */
export interface PlannedTarget {
  sn: string;
  fw: string | null;
  reason: SkipReason | undefined;
  detail: string | null;
}

/**
 * Decides, for each device of a new campaign, whether it gets the upgrade: a
 * device in another running campaign (`busy`) is skipped, the others as
 * skipReason says.
 */
export function planTargets(
  devices: readonly DeviceFacts[],
  busy: ReadonlySet<string>,
  campaign: CampaignFacts,
): PlannedTarget[] {
  return devices.map((d) => {
    const facts = { fw: d.fw, model: d.model };
    const reason = busy.has(d.sn) ? 'busy' : skipReason(facts, campaign);
    return {
      sn: d.sn,
      fw: d.fw,
      reason,
      detail: reason ? describeSkip(reason, facts, campaign) : null,
    };
  });
}
