import {
  UpgradeCampaignSummary,
  UpgradeCampaignView,
  UpgradeLastMessage,
  UpgradeTargetView,
} from './dto/upgrade.dto';
import { UpgradeCampaign } from './entities/upgrade-campaign.entity';
import { TARGET_STATES, TargetState, UpgradeTarget } from './entities/upgrade-target.entity';

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

export function totalsOf(
  counts: { state: TargetState; n: number }[],
): Record<TargetState | 'total', number> {
  const totals = Object.fromEntries([...TARGET_STATES, 'total'].map((s) => [s, 0])) as Record<
    TargetState | 'total',
    number
  >;
  for (const { state, n } of counts) {
    totals[state] += n;
    totals.total += n;
  }
  return totals;
}

export function campaignSummary(
  c: UpgradeCampaign,
  counts: { state: TargetState; n: number }[],
): UpgradeCampaignSummary {
  return {
    id: c.id,
    firmwareId: c.firmwareId,
    url: c.url,
    sha256: c.sha256,
    size: c.size,
    version: c.version,
    model: c.model,
    allowDowngrade: c.allowDowngrade,
    site: c.site,
    state: c.state,
    createdBy: c.createdBy,
    createdAt: c.createdAt.toISOString(),
    deadlineAt: c.deadlineAt.toISOString(),
    finishedAt: iso(c.finishedAt),
    totals: totalsOf(counts),
  };
}

export function targetView(t: UpgradeTarget): UpgradeTargetView {
  return {
    sn: t.sn,
    state: t.state,
    progress: t.progress,
    fromVersion: t.fromVersion,
    reportedVersion: t.reportedVersion,
    reason: t.reason,
    commandId: t.commandId,
    attempts: t.attempts,
    lastMessage: (t.lastMessage as UpgradeLastMessage | null) ?? null,
    sentAt: iso(t.sentAt),
    ackedAt: iso(t.ackedAt),
    progressAt: iso(t.progressAt),
    finishedAt: iso(t.finishedAt),
    updatedAt: t.updatedAt.toISOString(),
  };
}

export function campaignView(c: UpgradeCampaign, targets: UpgradeTarget[]): UpgradeCampaignView {
  return {
    ...campaignSummary(
      c,
      targets.map((t) => ({ state: t.state, n: 1 })),
    ),
    targets: targets.map(targetView),
  };
}
