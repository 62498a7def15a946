import { toEpochMs } from '../../events/time.js';
import type { EventStore } from '../ports/event-store.js';
import type { KeyspaceWriter, ReadModelStore } from '../ports/read-model.js';
import { decodeRecorded } from './decode.js';
import {
  applyEvent,
  createLedgerState,
  firstInBranch,
  type LedgerEvent,
  type LedgerState,
  readSnapshotState,
  skipEvent,
  SnapshotChainBroken,
  touchesBranch,
} from './state.js';

export interface InspectionDeps {
  eventStore: EventStore;
  readModel: ReadModelStore;
  /** As-of states kept for repeated questions about the same moment (default 2; each holds every ledger). */
  cacheSize?: number;
}

export interface AsOfPoint {
  /** ISO time: the ledgers as they stood when that moment passed (events recorded up to and including it). */
  time?: string;
  /** Event position: the ledgers right after that event. */
  position?: bigint;
  /**
   * Only this unit's subtree will be read: the state holds every unit and the rows of the branch of the tree
   * the unit lies in, exact for its subtree (roll-ups of units outside it are not).
   */
  unitId?: string;
}

/**
 * Inspection replay: the ledgers as of a past time or position. Starts from the newest snapshot at or
 * before that point and replays only the events after it, so a question about last month does not replay
 * the whole history; a question about one county reads that county's part of the snapshot and decodes
 * only the events of its items.
 */
export function createInspector(deps: InspectionDeps) {
  const cache = new Map<string, Promise<LedgerState>>();
  const cacheSize = deps.cacheSize ?? 2;

  /** The newest snapshot at or before the point that can be read (a delta whose base was lost cannot). */
  async function snapshotAt(keyspace: KeyspaceWriter, at: { position?: bigint; time?: string }, unitId?: string) {
    const baseOf = async (position: bigint) => {
      const base = await keyspace.findSnapshotPieces({ position });
      return base?.position === position ? base.read : undefined;
    };
    for (let position = at.position; ; ) {
      const snapshot = await keyspace.findSnapshotPieces({ position, time: at.time });
      if (!snapshot) return undefined;
      try {
        return await readSnapshotState(snapshot.read, unitId, baseOf);
      } catch (error) {
        if (!(error instanceof SnapshotChainBroken)) throw error;
        position = snapshot.position - 1n;
      }
    }
  }

  async function build(at: AsOfPoint): Promise<LedgerState> {
    const timeMs = at.time === undefined ? undefined : toEpochMs(at.time);
    const time = timeMs === undefined ? undefined : new Date(timeMs).toISOString();
    const keyspace = deps.readModel.keyspace(await deps.readModel.activeKeyspace());
    const snapshot = await snapshotAt(keyspace, { position: at.position, time }, at.unitId);
    const state: LedgerState & { branch?: string } = snapshot ?? createLedgerState();
    const branch = state.branch;
    const events = deps.eventStore.readAll({
      ...(snapshot ? { fromPosition: snapshot.position } : {}),
      ...(at.position !== undefined ? { toPosition: at.position } : {}),
    });
    for await (const raw of events) {
      if (timeMs !== undefined && Date.parse(raw.metadata.recordedAt) > timeMs) break;
      try {
        const touches = branch === undefined ? true : touchesBranch(state, raw);
        // An item's first event names its units: one outside the branch is passed over on its stored data,
        // without decoding it (most first events are other counties'); one inside is checked again decoded.
        const outside = touches === false || (touches === 'first' && !firstInBranch(state, raw as LedgerEvent, branch!));
        const event = outside ? undefined : decodeRecorded(raw);
        if (event && (touches !== 'first' || firstInBranch(state, event, branch ?? ''))) applyEvent(state, event);
        else skipEvent(state, { position: raw.position, recordedAt: raw.metadata.recordedAt });
      } catch {
        // The live projection parked this event with its reason; an inspection sees the ledger it saw.
        skipEvent(state, { position: raw.position, recordedAt: raw.metadata.recordedAt });
      }
    }
    return state;
  }

  return {
    /** The ledgers as of the point given. Do not modify the state returned: it may be shared. */
    stateAt(at: AsOfPoint): Promise<LedgerState> {
      const key = `${at.time === undefined ? '' : toEpochMs(at.time)}|${at.position ?? ''}|${at.unitId ?? ''}`;
      let state = cache.get(key);
      if (!state) {
        state = build(at);
        cache.set(key, state);
        state.catch(() => cache.delete(key));
        while (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
      }
      return state;
    },
    /** Forget cached states (after a rebuild switched keyspaces, say). */
    clear() {
      cache.clear();
    },
  };
}
export type Inspector = ReturnType<typeof createInspector>;
