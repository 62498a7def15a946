import { defineSearchAttributeKey } from '@temporalio/common';
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

/** Name and type as the Temporal CLI spells them (`--name DubanLevel --type Int`, `--search-attribute DubanLevel=Int`). */
export const searchAttributeCliTypes: ReadonlyArray<{ name: string; type: string }> = Object.values(searchAttributeKeys).map((key) => ({
  name: key.name,
  type: key.type.charAt(0) + key.type.slice(1).toLowerCase(),
}));

/** Visibility query for the rectification workflows still running (metrics, `npm run admin -- status`). */
export const runningRectificationsQuery = `WorkflowType="${rectificationWorkflowType}" AND ExecutionStatus="Running"`;
