/**
 * The README's flow diagram is generated from the operation machine: a runbook or transition
 * change without regenerating it fails here.
 */
import { flowDiagram, flowMarkdown } from '../../scripts/docs/flow.js';
import { spliceGenerated } from '../../scripts/docs/generated.js';
import {
  FAILBACK_RUNBOOK,
  FAILOVER_RUNBOOK,
  STEP_TITLES,
  runbookSteps,
} from '../../src/machine/index.js';
import { readPage } from './markdown.js';

it('README.md holds the diagram the machine generates (scripts/flow-diagram.ts)', () => {
  const readme = readPage('README.md');
  expect(spliceGenerated(readme, 'flow', flowMarkdown())).toBe(readme);
});

it('draws every failover and failback step, stage by stage', () => {
  const diagram = flowDiagram();
  for (const step of [...runbookSteps(FAILOVER_RUNBOOK), ...runbookSteps(FAILBACK_RUNBOOK)])
    expect(diagram).toContain(STEP_TITLES[step]);
  expect(diagram).toContain(
    'failover_1["1. Promote secondary database<br/>Promote secondary cache<br/>Scale secondary to production"]',
  );
  expect(diagram).toContain('failback_6 --> failback_7');
});

it('draws approval, pause and the ways out, without the per-step states', () => {
  const diagram = flowDiagram();
  expect(diagram).toContain('awaitingApproval -->|"Approve (last approval)"| recheck');
  expect(diagram).toContain('running -->|"stage done (a step failed)"| paused');
  expect(diagram).toContain(
    'paused -->|"Retry / Skip / Detach (last resort, second person)"| running',
  );
  expect(diagram).toContain('awaitingApproval -->|"Approve (too late) / deadline"| expired');
  expect(diagram).not.toMatch(/pending|succeeded/);
});
