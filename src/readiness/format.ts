/**
 * Readiness in plain words, shared by every adapter (Slack, console): one line per check and a
 * one-line tally. No markup: adapters add their own.
 */
import { formatDuration } from '../domain/format.js';
import type { ReadinessReport, ReadinessResult } from './types.js';

export const READINESS_ICONS: Record<ReadinessResult['status'], string> = {
  ok: '✅',
  degraded: '⚠️',
  unknown: '❔',
};

/** "PostgreSQL replication: degraded — 0.2 s (1.2 kB) vs lag ≤ 300 s — the standby is …" */
export function readinessLine(r: ReadinessResult): string {
  const numbers =
    r.measured !== null || r.target !== null
      ? ` — ${r.measured ?? '?'}${r.target ? ` vs ${r.target}` : ''}`
      : '';
  return `${READINESS_ICONS[r.status]} ${r.title}: ${r.status}${numbers} — ${r.detail}`;
}

/** "5 ok, 1 degraded, checked 3 min ago" (", alerts held while DR-… runs" for a round during an operation) */
export function readinessTally(report: ReadinessReport, now: number = Date.now()): string {
  const count = (s: ReadinessResult['status']): number =>
    report.results.filter((r) => r.status === s).length;
  const parts = [`${count('ok')} ok`];
  if (count('degraded')) parts.push(`${count('degraded')} degraded`);
  if (count('unknown')) parts.push(`${count('unknown')} unknown`);
  const held = report.heldBy ? `, alerts held while ${report.heldBy} runs` : '';
  return `${parts.join(', ')}, checked ${formatDuration(Math.max(0, now - report.checkedAt))} ago${held}`;
}
