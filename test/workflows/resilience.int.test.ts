import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { describeWithService } from '../setup/services.js';
import { useClockHarness } from './harness.js';
import { cadre, clockRecords, DAY, eventually, HOUR, readProblem, runCommand, supervisor, units } from './world.js';

const { village, township, county, prefecture } = units;
const reason = expect.any(String);

/** The full ladder of the test policy for a deadline, acknowledged early: what must be stored, once each. */
const ladder = (deadline: number) => [
  { type: 'ReminderIssued', data: { kind: 'deadline_approaching', level: 0, recipients: [village.unitId] }, at: deadline - 3 * DAY },
  { type: 'WarningColourChanged', data: { colour: 'blue', reason: 'deadline approaching' }, at: deadline - 3 * DAY },
  { type: 'ReminderIssued', data: { kind: 'deadline_approaching', level: 0, recipients: [village.unitId] }, at: deadline - DAY },
  { type: 'ProblemEscalated', data: { level: 1, toUnitId: township.unitId, colour: 'red', reason }, at: deadline },
  { type: 'WarningColourChanged', data: { colour: 'red', reason: 'deadline passed' }, at: deadline },
  { type: 'ProblemEscalated', data: { level: 2, toUnitId: county.unitId, colour: 'red', reason }, at: deadline + 3 * DAY },
  { type: 'ProblemEscalated', data: { level: 3, toUnitId: prefecture.unitId, colour: 'red', reason }, at: deadline + 6 * DAY },
];

describeWithService('redis', 'no step lost, none doubled: killed worker', (redisUrl) => {
  const h = useClockHarness(redisUrl, { inProcessWorker: false });
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  /** A worker in its own process (test/workflows/worker-process.ts), ready when it says so. */
  async function spawnWorker(): Promise<ChildProcess> {
    const bundlePath = path.join(h.world.dir, 'bundle.json');
    await writeFile(bundlePath, JSON.stringify(h.bundle));
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/workflows/worker-process.ts'], {
      env: {
        ...process.env,
        WORKFLOW_BUNDLE: bundlePath,
        TEMPORAL_ADDRESS: h.env.address,
        TASK_QUEUE: h.taskQueue,
        STORE_PATH: h.world.storePath,
        REDIS_URL: redisUrl,
        CHANNEL: h.world.channel,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('worker ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`worker process exited with ${code}`)));
    });
    return child;
  }

  it('given a ladder under way, when the worker process is SIGKILLed right after an escalation is stored and a new one starts: every step once', async () => {
    const first = await spawnWorker();
    const deadline = h.t0 + 30 * DAY;
    await h.findProblem('p-kill', deadline);
    await runCommand(h.world.store, { type: 'acknowledgeProblem', problemId: 'p-kill' }, cadre, h.iso(h.t0 + HOUR));
    await h.until('p-kill', (v) => v.acknowledged);

    const skipping = h.sleep(40 * DAY);
    // Kill the worker the moment the second escalation is on record: its activity may not have reported back.
    await eventually(async () => {
      const events = await readProblem(h.world.store, 'p-kill');
      return events.some((e) => e.type === 'ProblemEscalated' && (e.data as { level: number }).level === 2) || undefined;
    }, 30_000);
    first.kill('SIGKILL');
    await spawnWorker();
    await skipping;
    await h.until('p-kill', (v) => v.level === 3);

    expect(clockRecords(await readProblem(h.world.store, 'p-kill')).slice(0, 7)).toEqual(ladder(deadline));
    const records = clockRecords(await readProblem(h.world.store, 'p-kill'));
    // After the top: only the repeated reminders, each at its own time.
    const repeats = records.slice(7);
    expect(repeats.every((r) => r.type === 'ReminderIssued' && (r.data as { kind: string }).kind === 'overdue')).toBe(true);
    expect(new Set(repeats.map((r) => r.at)).size).toBe(repeats.length);
  });
});

describeWithService('redis', 'no step lost, none doubled: restarted reactor', (redisUrl) => {
  const h = useClockHarness(redisUrl);

  it('given events appended while the reactor is down, when it restarts from its checkpoint: they are delivered', async () => {
    const deadline = h.t0 + 30 * DAY;
    await h.findProblem('p-down', deadline);
    await h.until('p-down', (v) => v.revision === 0);
    await h.stopReactor();

    // Appended, not yet signalled: the process "died" between the append and the signal.
    await runCommand(h.world.store, { type: 'acknowledgeProblem', problemId: 'p-down' }, cadre, h.iso(h.t0 + HOUR));
    const extended = deadline + 5 * DAY;
    await runCommand(
      h.world.store,
      { type: 'extendDeadline', problemId: 'p-down', deadline: h.iso(extended), reason: '道路中断' },
      supervisor,
      h.iso(h.t0 + HOUR),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(await h.query('p-down')).toMatchObject({ acknowledged: false, deadline: h.iso(deadline) });

    await h.startReactor();
    await h.until('p-down', (v) => v.acknowledged && v.deadline === h.iso(extended));
    await h.sleep(45 * DAY);
    expect(clockRecords(await readProblem(h.world.store, 'p-down')).slice(0, 7)).toEqual(ladder(extended));
  });

  it('given a checkpoint that lags behind what was signalled (a crash before it was saved), when the reactor restarts: the redelivered events change nothing', async () => {
    const deadline = h.t0 + 30 * DAY;
    await h.findProblem('p-again', deadline);
    await runCommand(h.world.store, { type: 'acknowledgeProblem', problemId: 'p-again' }, cadre, h.iso(h.t0 + HOUR));
    await h.until('p-again', (v) => v.acknowledged);
    await h.sleep(32 * DAY);
    await h.until('p-again', (v) => v.level === 1);
    await h.stopReactor();

    // Back to the beginning: every problem event is forwarded a second time.
    await h.world.checkpoints.save('rectification-reactor', -1n);
    await h.startReactor();
    // Both the ProblemFound and the ProblemAcknowledged go to the workflow again: the sleep waits until they have.
    await h.sleep(10 * DAY);
    const records = clockRecords(await readProblem(h.world.store, 'p-again'));
    expect(records.slice(0, 7)).toEqual(ladder(deadline));
    expect(records.filter((r) => r.type === 'ProblemEscalated')).toHaveLength(3);
  });
});
