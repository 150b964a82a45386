import { freshnessLine, sharedAnswer } from '../../src/bot/status-cache.js';

test('a burst of status requests shares one computation; later ones compute again', async () => {
  let t = 1_000_000;
  let computed = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const status = sharedAnswer(
    500,
    async () => {
      computed += 1;
      await gate;
      return [`computation ${computed}`];
    },
    () => t,
  );
  const burst = Array.from({ length: 50 }, () => status());
  release();
  const answers = await Promise.all(burst);
  expect(computed).toBe(1);
  expect(new Set(answers.map((a) => a.value[0]))).toEqual(new Set(['computation 1']));
  expect(answers[0]!.at).toBe(1_000_000);
  t += 400;
  expect((await status()).value).toEqual(['computation 1']);
  t += 200;
  expect((await status()).value).toEqual(['computation 2']);
});

test('a failed computation is not kept: the next request tries again', async () => {
  let calls = 0;
  const status = sharedAnswer(10_000, async () => {
    calls += 1;
    if (calls === 1) throw new Error('state Redis unavailable');
    return ['ok'];
  });
  await expect(status()).rejects.toThrow('state Redis unavailable');
  expect((await status()).value).toEqual(['ok']);
});

test('the answer says how fresh it is', () => {
  const at = Date.UTC(2026, 11, 7, 10, 8, 44);
  expect(freshnessLine(at, at + 300)).toBe('_As of 10:08:44 UTC (300 ms ago)_');
  expect(freshnessLine(at, at + 2500)).toBe('_As of 10:08:44 UTC (2.5 s ago)_');
});
