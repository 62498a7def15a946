import type { EndpointName } from '../../api/endpoints.js';
import type { ProblemAction } from '../../can.js';
import type { MessageKey } from '../../i18n.js';

export interface Field {
  name: string;
  label: MessageKey;
  kind: 'text' | 'date' | 'unit';
}

/** What each action on a problem asks for and which request it makes. */
export const actionSpecs: Record<Exclude<ProblemAction, 'completeMeasure'>, { endpoint: EndpointName; label: MessageKey; fields: Field[]; danger?: boolean }> = {
  acknowledge: { endpoint: 'acknowledge', label: 'acknowledge', fields: [] },
  assignMeasure: {
    endpoint: 'assignMeasure',
    label: 'assignMeasure',
    fields: [
      { name: 'description', label: 'description', kind: 'text' },
      { name: 'assigneeUnitId', label: 'assignee', kind: 'unit' },
      { name: 'deadline', label: 'deadline', kind: 'date' },
    ],
  },
  submit: { endpoint: 'submit', label: 'submit', fields: [{ name: 'summary', label: 'summary', kind: 'text' }] },
  reject: { endpoint: 'reject', label: 'reject', fields: [{ name: 'reason', label: 'reason', kind: 'text' }], danger: true },
  clear: { endpoint: 'clear', label: 'clear', fields: [] },
  extend: {
    endpoint: 'extend',
    label: 'extend',
    fields: [
      { name: 'deadline', label: 'newDeadline', kind: 'date' },
      { name: 'reason', label: 'reason', kind: 'text' },
    ],
  },
  reopen: {
    endpoint: 'reopen',
    label: 'reopen',
    fields: [
      { name: 'reason', label: 'reason', kind: 'text' },
      { name: 'deadline', label: 'newDeadline', kind: 'date' },
    ],
  },
};

/** Evidence is a reference the user files elsewhere; the console sends the measure's or submission's without attachments. */
export const bodyExtras: Partial<Record<ProblemAction, Record<string, unknown>>> = { submit: { evidence: [] } };
