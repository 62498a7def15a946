import { randomUUID } from 'node:crypto';
import type { NewEvent } from '../../../events/envelope.js';

/** A small event of fresh ids, for tests of the audit tree that need events and not their meaning. */
export const reminder = (): NewEvent => ({
  type: 'ReminderIssued',
  data: { kind: 'overdue', level: 0, recipients: ['533423'] },
  metadata: {
    eventId: randomUUID(),
    occurredAt: '2027-06-30T10:00:00+08:00',
    actor: { userId: 'system', unitId: '533400', role: 'admin' },
    correlationId: randomUUID(),
    causationId: 'test',
    schemaVersion: 1,
  },
});
