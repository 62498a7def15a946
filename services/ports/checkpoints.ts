/**
 * Durable positions of subscribers (reactors, projections) in the store's global order. A subscriber
 * saves a position only after it finished with the event there, so a restart resumes strictly after it.
 */
export interface CheckpointStore {
  /** The saved position, or undefined when the subscriber never saved one (start from the beginning). */
  load(subscriberId: string): Promise<bigint | undefined>;
  save(subscriberId: string, position: bigint): Promise<void>;
  close(): Promise<void>;
}
