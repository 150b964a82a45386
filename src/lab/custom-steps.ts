/**
 * One custom runbook step of each kind for the lab's config (`dr lab up --custom-steps`, and the
 * demo): a command that writes a marker file (its check: the marker exists), an HTTP call to the
 * simulators' status-page endpoint (its check: the page was posted), and a checklist item.
 */
import { join } from 'node:path';
import type { DrConfigInput } from '../config/schema.js';

type StepInput = NonNullable<NonNullable<DrConfigInput['runbook']>['steps']>[number];

/** The marker the lab's command step writes; its check looks for it. */
function labMarkerFile(dir: string): string {
  return join(dir, 'consumers-paused.marker');
}

export function labCustomSteps(dir: string, controlUrl: string): StepInput[] {
  const marker = labMarkerFile(dir);
  return [
    {
      id: 'pause-consumers',
      title: 'Pause the queue consumers',
      beside: 'promote-database',
      command: {
        // The path is passed as $0, never pasted into the script.
        argv: ['sh', '-c', 'date -u +%FT%TZ > "$0"', marker],
        timeoutSeconds: 10,
        check: { argv: ['test', '-e', marker] },
      },
    },
    {
      id: 'status-page',
      title: 'Update the status page',
      after: 'switch-dns',
      http: {
        method: 'POST',
        url: `${controlUrl}/status-page`,
        body: { message: 'Serving from the secondary region' },
        check: { url: `${controlUrl}/status-page`, bodyMatch: '"count":[1-9]' },
      },
    },
    {
      id: 'tell-support',
      title: 'Tell customer support',
      after: 'status-page',
      manual: { text: 'Tell customer support the site now serves from the secondary region.' },
    },
  ];
}
