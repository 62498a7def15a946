import type { DomainEvent, RecordedEvent } from '../../events/envelope.js';

/** A stored event whose `type` still tells its `data` apart (RecordedEvent<Union> would merge them). */
export type Recorded<E extends DomainEvent> = E extends DomainEvent ? Omit<RecordedEvent, 'type' | 'data'> & E : never;
