/**
 * deploy/prometheus/rules.yaml alerts on the bot's /metrics: every series an alert names must be
 * one the bot exposes, or the alert silently never fires.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { createMetrics } from '../../src/metrics/index.js';

const FILE = new URL('../../deploy/prometheus/rules.yaml', import.meta.url).pathname;
interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}
const rules = (parse(readFileSync(FILE, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);

test('the rules cover what the deployment guide promises', () => {
  expect(rules.map((r) => r.alert).sort()).toEqual([
    'DrBotDown',
    'DrComponentNotReady',
    'DrDrillOverdue',
    'DrLastDrillFailed',
    'DrReplicationLagOverRpo',
    'DrStandbyAboveStandbySize',
  ]);
  for (const r of rules) {
    expect(r.labels.severity).toMatch(/^(critical|warning|info)$/);
    expect(r.annotations.summary.length).toBeGreaterThan(0);
  }
});

test("every dr_ series an alert names is one the bot's /metrics exposes", async () => {
  const text = await createMetrics({ env: 'test', defaultMetrics: false }).render();
  const exposed = new Set([...text.matchAll(/^# TYPE (\w+) /gm)].map((m) => m[1]));
  const named = rules.flatMap((r) => [...r.expr.matchAll(/\b(dr_\w+)/g)].map((m) => m[1]));
  expect(named.length).toBeGreaterThan(0);
  for (const name of named)
    expect({ name, exposed: exposed.has(name) }).toEqual({ name, exposed: true });
});
