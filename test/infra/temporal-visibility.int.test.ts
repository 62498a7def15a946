import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';

import { formatInstant } from '../../events/time.js';
import { temporalConnectionSettings } from '../../infra/temporal/connection.js';
import {
  missingSearchAttributes,
  registerSearchAttributes,
  requireSearchAttributes,
} from '../../infra/temporal/search-attributes.js';
import { createTemporalWorkflowEngine } from '../../infra/temporal/workflow-engine.js';
import { rectificationWorkflowId } from '../../workflows/rectification.contract.js';
import { searchAttributeKeys } from '../../workflows/search-attributes.js';
import { describeWithService } from '../setup/services.js';
import { eventually, testPolicy } from '../workflows/world.js';

const DAY = 86_400_000;

/** Workflow ids a visibility query returns. */
async function listIds(client: Client, query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of client.workflow.list({ query })) ids.push(execution.workflowId);
  return ids.sort();
}

describeWithService('temporal', "Temporal visibility: a unit's workflows by DubanUnitId, and the search-attribute start-up check", (address) => {
  const settings = temporalConnectionSettings({ TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: inject('temporalNamespace') });
  let connection: Connection;
  let client: Client;
  const started: string[] = [];

  beforeAll(async () => {
    connection = await Connection.connect(settings.client);
    client = new Client({ connection, namespace: settings.namespace });
  });
  afterAll(async () => {
    for (const workflowId of started) await client.workflow.getHandle(workflowId).terminate('test over').catch(() => undefined);
    await connection?.close();
  });

  test('given the clocks of two units started as the reactor starts them, when listing by DubanUnitId, then each unit gets exactly its own', async () => {
    // Unit ids of this run only: the dev server is shared with every other test file.
    const run = randomUUID().slice(0, 8);
    const unitA = `vis-a-${run}`;
    const unitB = `vis-b-${run}`;
    // No worker serves this queue: what is listed is what the start itself recorded.
    const workflows = createTemporalWorkflowEngine({ client, taskQueue: `visibility-${run}` });
    const now = Date.now();
    const find = async (problemId: string, unitId: string) => {
      await workflows.deliverToClock(problemId, [
        {
        eventId: randomUUID(),
        revision: 0,
        type: 'ProblemFound',
        occurredAt: formatInstant(now, 'Asia/Shanghai'),
        data: {
          problemId,
          targetUnitId: unitId,
          responsibleUnitId: unitId,
          category: 'housing',
          source: 'inspection',
          description: '危房改造未完成',
          severity: 'medium',
          deadline: formatInstant(now + 30 * DAY, 'Asia/Shanghai'),
          policy: testPolicy,
        },
        },
      ]);
      started.push(rectificationWorkflowId(problemId));
    };
    await find(`p-${run}-a1`, unitA);
    await find(`p-${run}-a2`, unitA);
    await find(`p-${run}-b1`, unitB);

    const byUnit = (unitId: string) => listIds(client, `${searchAttributeKeys.unitId.name} = '${unitId}'`);
    // Visibility is eventually consistent: wait (bounded) until all three are indexed, then compare exactly.
    await eventually(async () => ((await byUnit(unitA)).length >= 2 && (await byUnit(unitB)).length >= 1) || undefined, 30_000);
    expect(await byUnit(unitA)).toEqual([rectificationWorkflowId(`p-${run}-a1`), rectificationWorkflowId(`p-${run}-a2`)]);
    expect(await byUnit(unitB)).toEqual([rectificationWorkflowId(`p-${run}-b1`)]);
    expect(await listIds(client, `DubanUnitId = '${unitA}' AND DubanColour = 'none' AND DubanLevel = 0`)).toHaveLength(2);
  });

  test('given a namespace without them, then the start-up check refuses naming the missing ones and the command; once registered it passes', async () => {
    const namespace = `duban-sa-${randomUUID().slice(0, 8)}`;
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    // A new namespace reaches the frontend's cache within seconds.
    await eventually(async () => (await connection.workflowService.describeNamespace({ namespace }).then(() => true, () => undefined)), 30_000);
    const names = Object.values(searchAttributeKeys).map((key) => key.name);
    await eventually(async () => ((await missingSearchAttributes(connection, namespace).catch(() => [])).length > 0 || undefined), 30_000);
    expect((await missingSearchAttributes(connection, namespace)).sort()).toEqual([...names].sort());

    const refusal = await requireSearchAttributes(connection, address, namespace).then(() => undefined, (error: unknown) => error as Error);
    expect(refusal?.message).toContain(`Temporal namespace ${namespace} at ${address} lacks Duban's search attributes`);
    expect(refusal?.message).toContain('docs/workflows.md');
    expect(refusal?.message).toContain(`temporal operator search-attribute create --address ${address} --namespace ${namespace} --name DubanUnitId --type Keyword`);

    expect((await registerSearchAttributes(connection, namespace)).sort()).toEqual([...names].sort());
    await eventually(async () => ((await missingSearchAttributes(connection, namespace)).length === 0 || undefined), 30_000);
    await expect(requireSearchAttributes(connection, address, namespace)).resolves.toBeUndefined();
  });
});
