import {
  ActivityFailure,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  type RetryPolicy,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from './activities.js';
import {
  clockQuery,
  problemEventSignal,
  problemEventsSignal,
  type RectificationInput,
  type RectificationResult,
} from './rectification.contract.js';
import {
  applyEvent,
  applyStepColour,
  markStepDone,
  nextStep,
  viewOf,
  type ClockEvent,
  type ClockState,
  type Step,
} from './clock.js';
import { searchAttributesOf } from './search-attributes.js';

export * from './rectification.contract.js';

/** Event ids remembered for dedupe; older duplicates are caught by the stream revision anyway. */
const SEEN_KEPT = 256;
/** Continue-as-new well before Temporal's limits; a long-overdue item repeats reminders for months. */
const HISTORY_LIMIT = 2_000;

const stepRetry: RetryPolicy = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' };
const { performStep } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: stepRetry });

/**
 * Runs since this patch record each step as a local activity with its notification tried inline: the
 * timer's workflow task appends and notifies, so a step costs one workflow task instead of three (the
 * activity's schedule and completion, then the notification's) and no task-queue round trip. It stays
 * exactly once for the same reason as before: a retried or replayed step derives the same event ids.
 * Runs recorded before it go on with the activities they scheduled (patched() is false while they replay).
 */
export const LOCAL_STEPS_PATCH = 'local-steps';
/**
 * An item recorded with the moment it was found has its acknowledge window run from that moment (an import
 * of an office's old list). Runs recorded before it keep the window from the recording while they replay.
 */
export const ACK_FROM_FOUND_AT_PATCH = 'ack-from-found-at';
const { performStep: performStepLocally } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: stepRetry,
});

// A notification the step could not deliver at once (or every one, in runs before the local-steps patch):
// a receiver that is down for long gets retries for a day; refusals (4xx) are not retried at all.
const { notify } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

const loadRetry: RetryPolicy = { initialInterval: '1 second', maximumInterval: '1 minute' };
// Runs recorded before the local-load-clock patch loaded the clock with an ordinary activity.
const { loadClock } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: loadRetry });
/**
 * Runs started with `loadInFirstTask` (a plain start, eager when the reactor shares the worker's connection)
 * load their clock with a local activity: the first workflow task reads the stream, sets the first timer and
 * completes, so a start costs one workflow task and no activity task (before it: a task scheduling the
 * activity, the activity's dispatch, start and completion, then a second task). The answer is a marker in
 * that task's completion; a signal that arrives while it runs is in history after the task, so it reaches
 * the workflow after the clock is loaded, on replay as in the original run.
 *
 * The flag is the run's version gate, as a patch would be: it is in the run's recorded input, and no run
 * recorded before it has it, so those replay on their activity. Such a run was started by this code, so it
 * has every patch of this file without asking: each `patched()` call also upserts Temporal's `TemporalChangeVersion`
 * search attribute, one more visibility write per patch and run. The flag goes on over continue-as-new.
 */
const { loadClock: loadClockLocally } = proxyLocalActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: loadRetry });

export async function rectificationWorkflow(input: RectificationInput): Promise<RectificationResult> {
  const { workflowId } = workflowInfo();
  const current = input.loadInFirstTask === true;
  // A patch older than the flag: known without a marker for a run started with it (see loadClockLocally).
  // A patch added after the flag must call patched() itself: runs with the flag were recorded without it.
  const has = (patch: string) => current || patched(patch);
  const inbox: ClockEvent[] = [...(input.carried?.inbox ?? [])];
  const seen: string[] = [...(input.carried?.seen ?? [])];
  let state: ClockState | undefined = input.carried?.state;
  // Notifications run beside the clock so a slow receiver never delays the next step.
  const deliveries: Promise<void>[] = [];

  setHandler(problemEventSignal, (event) => {
    inbox.push(event);
  });
  setHandler(problemEventsSignal, (events) => {
    inbox.push(...events);
  });
  setHandler(clockQuery, () => (state ? viewOf(state) : null));

  if (!state) {
    // A fresh run may start long after the item began (reopened after clearing, or a redelivery after
    // a crash): learn where it stands from its stream, then apply only newer events.
    state = input.loadInFirstTask === true
      ? await loadClockLocally({ problemId: input.problemId })
      : await loadClock({ problemId: input.problemId });
  }

  const drainInbox = () => {
    while (inbox.length > 0) {
      const event = inbox.shift();
      if (!event || seen.includes(event.eventId)) continue;
      seen.push(event.eventId);
      if (seen.length > SEEN_KEPT) seen.splice(0, seen.length - SEEN_KEPT);
      try {
        // Asked only where it matters, so runs of items without a found moment record no marker.
        const fromFound = event.type === 'ProblemFound' && event.data.foundAt !== undefined && has(ACK_FROM_FOUND_AT_PATCH);
        state = applyEvent(state, event, { ackFromFoundAt: fromFound });
      } catch (err) {
        // A malformed event must not fail every workflow task from now on: record it and go on.
        log.error('event not applied to the clock', { eventId: event.eventId, type: event.type, error: String(err) });
      }
    }
  };

  // What Temporal's visibility shows of the clock, upserted whenever it changes (once more per run).
  // Behind a patch: runs recorded before it have no upsert commands in their histories.
  let published = '';
  if (state && current) {
    // The start set the attributes of its ProblemFound: no upsert (a visibility write) while they still hold.
    const started = workflowInfo().typedSearchAttributes;
    published = JSON.stringify(searchAttributesOf(state).map((p) => started.get(p.key) ?? null));
  }
  const publish = () => {
    if (!state || !has('search-attributes')) return;
    const pairs = searchAttributesOf(state);
    const key = JSON.stringify(pairs.map((p) => p.value));
    if (key === published) return;
    published = key;
    upsertSearchAttributes(pairs);
  };

  for (;;) {
    drainInbox();
    publish();
    if (state?.status === 'cleared') {
      log.info('problem cleared; rectification clock stops', { problemId: input.problemId, level: state.level });
      await Promise.all(deliveries);
      return { problemId: input.problemId, status: 'cleared', level: state.level };
    }
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > HISTORY_LIMIT) {
      if (!state) {
        // Nothing to carry but a queue of events that never found their ProblemFound.
        log.warn('no ProblemFound for this problem; stopping', { problemId: input.problemId });
        return { problemId: input.problemId, status: 'unknown', level: 0 };
      }
      await Promise.all(deliveries);
      return continueAsNew<typeof rectificationWorkflow>({
        problemId: input.problemId,
        carried: { state, inbox, seen: seen.slice(-SEEN_KEPT) },
        ...(current ? { loadInFirstTask: true } : {}),
      });
    }

    const step = state ? nextStep(state) : undefined;
    if (!state || !step) {
      await condition(() => inbox.length > 0);
      continue;
    }
    const wait = Date.parse(step.at) - Date.now();
    // New events come first: they may move or cancel the step.
    if (wait > 0 && (await condition(() => inbox.length > 0, wait))) continue;
    if (inbox.length > 0) continue;

    state = await runStep(workflowId, state, step, deliveries, has(LOCAL_STEPS_PATCH));
  }
}

async function runStep(
  workflowId: string,
  state: ClockState,
  step: Step,
  deliveries: Promise<void>[],
  local: boolean,
): Promise<ClockState> {
  const input = {
    workflowId,
    problemId: state.problemId,
    step,
    ...(state.cycleCorrelationId !== undefined ? { correlationId: state.cycleCorrelationId } : {}),
  };
  const outcome = local ? await performStepLocally({ ...input, notifyInline: true }) : await performStep(input);
  let next = markStepDone(state, step, outcome);
  if (outcome.recorded) next = applyStepColour(next, step);
  log.info('clock step', {
    problemId: state.problemId,
    step: step.name,
    kind: step.kind,
    at: step.at,
    recorded: outcome.recorded,
    toUnitId: outcome.toUnitId,
  });
  const notification = outcome.notification;
  if (notification) {
    deliveries.push(
      notify(notification).catch((err: unknown) => {
        // The step is on record; a notification refused for good (a 4xx) must not stop the clock.
        if (!(err instanceof ActivityFailure)) throw err;
        log.warn('notification not delivered', { eventId: notification.eventId, error: err.cause?.message });
      }),
    );
  }
  return next;
}
