/**
 * The drill report in Slack when the bot is not a member of the incident channel: chat:write.public
 * lets it post the summary there, but Slack shares a file (files.completeUploadExternal, the last
 * call of files.uploadV2) only into a channel the bot is in and answers not_in_channel. The failure
 * the reporter logs says to invite the bot. The real engine on the real Redis, fake providers, the
 * Web API played by the fake Slack.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createSlackClient, postDrillReports } from '../../src/bot/index.js';
import { createDrillReporter, type DrillReporter } from '../../src/drill/index.js';
import { createReportStore } from '../../src/report/index.js';
import {
  APPROVER,
  createHarness,
  inPhase,
  REQUESTER,
  testConfig,
  type Harness,
} from '../support/engine-harness.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';

const config = testConfig();
const CHANNEL = config.slack.incidentChannel;
let h: Harness;
let slack: FakeSlack;
let reporter: DrillReporter;
let logged = '';

beforeAll(async () => {
  h = await createHarness({ name: 'drill-report-slack', config });
  slack = await startFakeSlack();
  const log = pino(
    { level: 'warn' },
    new Writable({
      write(chunk, _enc, done) {
        logged += String(chunk);
        done();
      },
    }),
  );
  reporter = createDrillReporter({
    engine: h.engine,
    environment: config.environment,
    reports: createReportStore({ redis: h.redis, prefix: h.prefix }),
    targets: config.targets,
    log,
  });
  const client = createSlackClient(
    'xoxb-drill-report',
    { SLACK_API_URL: slack.apiUrl },
    pino({ level: 'silent' }),
    { retries: 0 },
  );
  postDrillReports({ reporter, client, store: h.store, config, log });
});

afterAll(async () => {
  reporter.stop();
  await h.close();
  await slack.close();
});

test('a report file Slack refuses with not_in_channel fails with "invite @dr-bot to <channel>", after the summary was posted', async () => {
  slack.failMethod('files.completeUploadExternal', 'not_in_channel');
  const req = await h.engine.request({
    kind: 'drill',
    mode: 'planned',
    requester: REQUESTER,
    reason: 'bot not invited',
  });
  if (!req.ok) throw new Error(req.message);
  const waiting = await inPhase(h.engine, req.op.id, 'awaitingApproval');
  await h.engine.approve({ opId: req.op.id, userId: APPROVER, planHash: waiting.planHash! });
  await inPhase(h.engine, req.op.id, 'completed');
  await reporter.idle();

  expect(
    slack
      .api('chat.postMessage')
      .filter((c) => String(c.args.text).startsWith(`Drill ${req.op.id}`)),
  ).toHaveLength(1);
  const failure = logged
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { msg: string; opId?: string; err?: { message: string } })
    .find((l) => l.opId === req.op.id && l.msg.startsWith('publishing the drill report failed'));
  expect(failure?.err?.message).toBe(
    `could not upload the drill report file to ${CHANNEL}: the bot is not a member of ${CHANNEL} (Slack answered not_in_channel; chat:write.public lets it post messages there, not files): invite @dr-bot to ${CHANNEL} (\`/invite @dr-bot\` in that channel)`,
  );
});
