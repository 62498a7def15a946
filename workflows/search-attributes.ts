import { defineSearchAttributeKey, type SearchAttributePair } from '@temporalio/common';
import { toEpochMs } from '../events/time.js';
import type { ProblemStatus } from '../events/problem/state.js';
import type { ClockState } from './clock.js';
import { rectificationWorkflowType } from './rectification.contract.js';

/**
 * What Temporal's Web UI and visibility queries can filter a problem's workflow by
 * (`DubanUnitId="533423103201" AND DubanColour="red"`). A cluster must have them registered before a
 * workflow sets them: the local dev server gets them at start, a cluster once (docs/api.md), and
 * infra/deploy/compose.yaml registers them in its temporal-setup service.
 */
export const searchAttributeKeys = {
  unitId: defineSearchAttributeKey('DubanUnitId', 'KEYWORD'),
  responsibleUnitId: defineSearchAttributeKey('DubanResponsibleUnitId', 'KEYWORD'),
  colour: defineSearchAttributeKey('DubanColour', 'KEYWORD'),
  level: defineSearchAttributeKey('DubanLevel', 'INT'),
  deadline: defineSearchAttributeKey('DubanDeadline', 'DATETIME'),
  status: defineSearchAttributeKey('DubanStatus', 'KEYWORD'),
};

/**
 * The search attributes of a problem's clock: set at start (from its ProblemFound) and upserted by the
 * workflow whenever one of them changes. `DubanStatus` is the problem's status as the API names it.
 */
export function searchAttributesOf(state: ClockState): SearchAttributePair[] {
  const k = searchAttributeKeys;
  const status: ProblemStatus = state.status === 'cleared' ? 'cleared' : state.verification ? 'submitted' : state.acknowledged ? 'acknowledged' : 'open';
  return [
    // Absent in states carried over before the clock kept it; set again by the next fresh run.
    ...(state.targetUnitId !== undefined ? [{ key: k.unitId, value: state.targetUnitId }] : []),
    { key: k.responsibleUnitId, value: state.responsibleUnitId },
    { key: k.colour, value: state.colour },
    { key: k.level, value: state.level },
    { key: k.deadline, value: new Date(toEpochMs(state.deadline)) },
    { key: k.status, value: status },
  ];
}

/** Name and type as the Temporal CLI spells them (`--name DubanLevel --type Int`, `--search-attribute DubanLevel=Int`). */
export const searchAttributeCliTypes: ReadonlyArray<{ name: string; type: string }> = Object.values(searchAttributeKeys).map((key) => ({
  name: key.name,
  type: key.type.charAt(0) + key.type.slice(1).toLowerCase(),
}));

/** Visibility query for the rectification workflows still running (metrics, `npm run admin -- status`). */
export const runningRectificationsQuery = `WorkflowType="${rectificationWorkflowType}" AND ExecutionStatus="Running"`;
