import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../workflows/worker.js';
import { historiesDir } from './harness.js';
import { historyFromProtoJson } from './history-json.js';

/**
 * Recorded histories of real runs (test/workflows/histories/, written by the rectification tests with
 * RECORD_HISTORIES=1) replayed against the current workflow code: a change that would make a running
 * workflow take a different path fails here with a non-determinism error instead of in production.
 */
describe('rectification workflow replay', () => {
  it('replays every recorded history without a non-determinism error', async () => {
    const files = (await readdir(historiesDir)).filter((f) => f.endsWith('.json')).sort();
    expect(files).toEqual(['cleared.json', 'ladder.json', 'reopened.json']);
    const workflowBundle = await bundleWorkflows();
    const histories = await Promise.all(
      files.map(async (file) => ({
        workflowId: path.basename(file, '.json'),
        history: historyFromProtoJson(JSON.parse(await readFile(path.join(historiesDir, file), 'utf8'))),
      })),
    );
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
