/**
 * The proposal card's text: alert labels and annotations come from outside the bot, so they must
 * not mention @channel or inject links; and the card's parts appear in the states people see.
 */
import { renderProposal, signalsLine } from '../../src/bot/proposal.js';
import type { ProposalView } from '../../src/detection/index.js';

const T0 = Date.parse('2026-11-25T22:00:00Z');

function view(over: Partial<ProposalView['episode']> = {}): ProposalView {
  const episode = { id: 'eu-west-1-1', region: 'eu-west-1', openedAt: T0, card: null, ...over };
  return {
    episode,
    alerts: [
      {
        fingerprint: 'a1',
        status: 'firing',
        labels: { alertname: 'ServiceDown', service: 'web <!channel>' },
        summary: 'down, see <https://evil.example|here> & <@U0BOSS>',
        startsAt: '2026-11-25T21:59:00Z',
        firstSeenAt: T0,
        lastSeenAt: T0,
      },
    ],
    probes: [
      {
        at: T0,
        ok: false,
        results: [
          {
            url: 'https://primary.example/healthz',
            ok: false,
            detail: 'ECONNREFUSED',
            durationMs: 2,
          },
        ],
      },
    ],
    summary: {
      region: 'eu-west-1',
      recentFiring: 3,
      firing: 3,
      minAlerts: 3,
      windowSeconds: 600,
      consecutiveProbeFailures: 3,
      probeFailures: 3,
      lastProbe: null,
      episode,
    },
  };
}

test('outside text is escaped: no mentions, no links', () => {
  const text = JSON.stringify(renderProposal(view(), 'ServiceDown').blocks);
  expect(text).not.toContain('<!channel>');
  expect(text).not.toContain('<https://evil.example');
  expect(text).not.toContain('<@U0BOSS>');
  expect(text).toContain('web &lt;!channel&gt;');
  expect(text).toContain('&amp;');
});

test('suspected: the button; requested: who asked instead; cleared: why, and no button', () => {
  const suspected = renderProposal(view(), 'ServiceDown');
  expect(suspected.text).toBe('🚨 Regional failure suspected in eu-west-1');
  expect(JSON.stringify(suspected.blocks)).toContain('"action_id":"dr_detect_start_failover"');
  expect(JSON.stringify(suspected.blocks)).toContain(
    'https://primary.example/healthz: ECONNREFUSED',
  );

  const requested = JSON.stringify(
    renderProposal(
      view({ failover: { opId: 'DR-20261125-093015', requester: 'U0ALICE', at: T0 } }),
      'ServiceDown',
    ).blocks,
  );
  expect(requested).toContain('DR-20261125-093015 requested by <@U0ALICE>');
  expect(requested).not.toContain('dr_detect_start_failover');

  const cleared = renderProposal(
    view({ clearedAt: T0 + 60_000, clearReason: 'the primary health endpoints answer again' }),
    'ServiceDown',
  );
  expect(cleared.text).toBe(
    '✅ Signals cleared — regional failure no longer suspected in eu-west-1',
  );
  expect(JSON.stringify(cleared.blocks)).toContain('the primary health endpoints answer again');
  expect(JSON.stringify(cleared.blocks)).not.toContain('dr_detect_start_failover');
});

test('signals that returned after clearing: the same card suspects again and says when they cleared and returned', () => {
  const returned = renderProposal(
    view({
      returned: {
        at: T0 + 120_000,
        count: 2,
        clearedAt: T0 + 60_000,
        clearReason: 'the primary health endpoints answer again (3 probe rounds in a row)',
      },
    }),
    'ServiceDown',
  );
  expect(returned.text).toBe('🚨 Regional failure suspected in eu-west-1');
  const text = JSON.stringify(returned.blocks);
  expect(text).toContain('🔁 Signals returned at <!date^1795644120');
  expect(text).toContain('(2 times); they had cleared at <!date^1795644060');
  expect(text).toContain('the primary health endpoints answer again (3 probe rounds in a row)');
  expect(text).toContain('"action_id":"dr_detect_start_failover"');
  expect(JSON.stringify(renderProposal(view(), 'ServiceDown').blocks)).not.toContain(
    'Signals returned',
  );
});

test('the status line names thresholds and the open episode', () => {
  const v = view();
  expect(signalsLine(v.summary)).toBe(
    '🚨 regional failure suspected in *eu-west-1* (episode eu-west-1-1): 3/3 alerts firing within 600 s (3 firing in all), probes failed 3/3 in a row, no probe yet',
  );
});
