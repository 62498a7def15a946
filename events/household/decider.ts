import { z } from 'zod';
import { authorize } from '../access.js';
import { type Evidence, evidenceListSchema, idSchema, makeEvent, textSchema } from '../common.js';
import { assertNever, type DecideContext, type Decider } from '../decider.js';
import { invalid, notFound, refuse } from '../errors.js';
import { recordWith } from '../records.js';
import { compareInstants, DEFAULT_TIME_ZONE, resolveDeadline, resolveMoment } from '../time.js';
import {
  type HouseholdCategory,
  householdAssessedSchema,
  householdCategoryChangedSchema,
  householdCategorySchema,
  type HouseholdEvent,
  householdRegisteredSchema,
  monitoringFlagClearedSchema,
  monitoringFlagRaisedSchema,
  planMeasureAddedSchema,
  planMeasureCompletedSchema,
  type PlanMeasureKind,
  planMeasureKindSchema,
  standardsSchema,
} from './events.js';

// ---------------------------------------------------------------------------------------------------
// State

export interface PlanMeasure {
  measureId: string;
  kind: PlanMeasureKind;
  description: string;
  responsibleUnitId: string;
  deadline: string;
  completed: boolean;
  evidence: Evidence[];
}

/** The latest assessment of the six standards, exactly as HouseholdAssessed carries it. */
export type Assessment = z.infer<typeof householdAssessedSchema>;

export interface RegisteredHousehold {
  status: 'registered';
  householdId: string;
  villageId: string;
  members: number;
  category: HouseholdCategory;
  /** 一户一方案: the household plan. */
  measures: Record<string, PlanMeasure>;
  measuresTotal: number;
  measuresDone: number;
  /** Latest assessment; null until assessed. */
  assessment: Assessment | null;
  monitoringFlag: { raised: boolean; reason: string | null };
}

export type HouseholdState = { status: 'unregistered' } | RegisteredHousehold;

export const initialHouseholdState: HouseholdState = { status: 'unregistered' };

export function evolveHousehold(state: HouseholdState, event: HouseholdEvent): HouseholdState {
  if (event.type === 'HouseholdRegistered') {
    if (state.status !== 'unregistered') return state;
    return {
      status: 'registered',
      ...event.data,
      measures: {},
      measuresTotal: 0,
      measuresDone: 0,
      assessment: null,
      monitoringFlag: { raised: false, reason: null },
    };
  }
  if (state.status === 'unregistered') return state;
  const h = state;
  switch (event.type) {
    case 'HouseholdCategoryChanged':
      return { ...h, category: event.data.to };
    case 'PlanMeasureAdded':
      if (h.measures[event.data.measureId]) return h;
      return {
        ...h,
        measures: recordWith<PlanMeasure>(h.measures, event.data.measureId, { ...event.data, completed: false, evidence: [] }),
        measuresTotal: h.measuresTotal + 1,
      };
    case 'PlanMeasureCompleted': {
      const measure = h.measures[event.data.measureId];
      if (!measure || measure.completed) return h;
      return {
        ...h,
        measures: recordWith<PlanMeasure>(h.measures, measure.measureId, { ...measure, completed: true, evidence: event.data.evidence }),
        measuresDone: h.measuresDone + 1,
      };
    }
    case 'HouseholdAssessed':
      return { ...h, assessment: { ...event.data } };
    case 'MonitoringFlagRaised':
      return { ...h, monitoringFlag: { raised: true, reason: event.data.reason } };
    case 'MonitoringFlagCleared':
      return { ...h, monitoringFlag: { raised: false, reason: event.data.reason } };
    default:
      return assertNever(event, 'household event');
  }
}

/** True when the latest assessment meets all six standards (两不愁三保障 + water). */
export const meetsStandard = (h: RegisteredHousehold) => h.assessment?.meetsStandard === true;

// ---------------------------------------------------------------------------------------------------
// Commands

const base = { householdId: idSchema };
const reasonInput = z.string().max(2000);

export const householdCommandSchemas = {
  registerHousehold: z.strictObject({
    type: z.literal('registerHousehold'),
    ...base,
    villageId: idSchema,
    members: z.number().int().min(1).max(100),
    category: householdCategorySchema,
  }),
  changeHouseholdCategory: z.strictObject({
    type: z.literal('changeHouseholdCategory'),
    ...base,
    category: householdCategorySchema,
    reason: reasonInput,
  }),
  addPlanMeasure: z.strictObject({
    type: z.literal('addPlanMeasure'),
    ...base,
    measureId: idSchema,
    kind: planMeasureKindSchema,
    description: textSchema,
    responsibleUnitId: idSchema,
    /** A date (end of that day in the context's time zone) or a date-time. */
    deadline: z.string().min(1).max(40),
    /**
     * When the measure was put into the plan, for one recorded later (an imported plan): a date (its start)
     * or a date-time, not after now. The deadline must be after it, so a past deadline is history, not an error.
     */
    plannedAt: z.string().min(1).max(40).optional(),
  }),
  completePlanMeasure: z.strictObject({
    type: z.literal('completePlanMeasure'),
    ...base,
    measureId: idSchema,
    evidence: evidenceListSchema,
  }),
  assessHousehold: standardsSchema.extend({ type: z.literal('assessHousehold'), ...base }),
  raiseMonitoringFlag: z.strictObject({ type: z.literal('raiseMonitoringFlag'), ...base, reason: reasonInput }),
  clearMonitoringFlag: z.strictObject({ type: z.literal('clearMonitoringFlag'), ...base, reason: reasonInput }),
} as const;

export const householdCommandSchema = z.discriminatedUnion('type', [
  householdCommandSchemas.registerHousehold,
  householdCommandSchemas.changeHouseholdCategory,
  householdCommandSchemas.addPlanMeasure,
  householdCommandSchemas.completePlanMeasure,
  householdCommandSchemas.assessHousehold,
  householdCommandSchemas.raiseMonitoringFlag,
  householdCommandSchemas.clearMonitoringFlag,
]);
export type HouseholdCommand = z.infer<typeof householdCommandSchema>;

// ---------------------------------------------------------------------------------------------------
// Decide

function requireReason(reason: string, rule: string) {
  if (reason.trim().length === 0) throw invalid(rule, 'a reason is required');
}

export function decideHousehold(
  command: HouseholdCommand,
  state: HouseholdState,
  context: DecideContext,
): HouseholdEvent[] {
  const { actor, hierarchy, now } = context;

  if (command.type === 'registerHousehold') {
    if (state.status !== 'unregistered') {
      throw refuse('household.register.duplicate', `household ${command.householdId} is already registered`, {
        householdId: command.householdId,
      });
    }
    const level = hierarchy.levelOf(command.villageId);
    if (level === undefined) {
      throw notFound('household.register.unknown_village', `village ${command.villageId} is not registered`, {
        villageId: command.villageId,
      });
    }
    if (level !== 'village') {
      throw invalid('household.register.not_a_village', `households belong to a village, not a ${level}`, {
        villageId: command.villageId,
        level,
      });
    }
    authorize(actor, 'household.register', [command.villageId], hierarchy);
    const { type: _type, ...data } = command;
    return [makeEvent('HouseholdRegistered', householdRegisteredSchema, data)];
  }

  if (state.status === 'unregistered') {
    throw notFound('household.not_found', `household ${command.householdId} is not registered`, {
      householdId: command.householdId,
    });
  }
  const h = state;
  if (h.householdId !== command.householdId) {
    throw invalid('household.stream_mismatch', `command for ${command.householdId} sent to ${h.householdId}`);
  }
  // The household's village decides who may act on it (a call, not a closure: an import decides 200,000).
  const villages = [h.villageId];

  switch (command.type) {
    case 'changeHouseholdCategory': {
      authorize(actor, 'household.changeCategory', villages, hierarchy);
      requireReason(command.reason, 'household.category.reason_required');
      if (command.category === h.category) {
        throw refuse('household.category.unchanged', `household is already ${h.category}`, { category: h.category });
      }
      return [
        makeEvent('HouseholdCategoryChanged', householdCategoryChangedSchema, {
          householdId: h.householdId,
          from: h.category,
          to: command.category,
          reason: command.reason,
        }),
      ];
    }

    case 'addPlanMeasure': {
      authorize(actor, 'household.addPlanMeasure', villages, hierarchy);
      if (hierarchy.levelOf(command.responsibleUnitId) === undefined) {
        throw notFound('household.measure.unknown_unit', `unit ${command.responsibleUnitId} is not registered`, {
          unitId: command.responsibleUnitId,
        });
      }
      if (h.measures[command.measureId]) {
        throw refuse('household.measure.duplicate', `plan measure ${command.measureId} already exists`, {
          measureId: command.measureId,
        });
      }
      const zone = context.timeZone ?? DEFAULT_TIME_ZONE;
      const deadline = resolveDeadline(command.deadline, zone);
      const plannedAt = command.plannedAt === undefined ? undefined : resolveMoment(command.plannedAt, zone);
      if (plannedAt !== undefined && compareInstants(plannedAt, now) > 0) {
        throw invalid('household.measure.planned_in_future', `planned at ${plannedAt}, after now (${now})`, { plannedAt, now });
      }
      // A deadline is set after the measure is planned; recorded later, it may well have passed by now.
      const since = plannedAt ?? now;
      if (compareInstants(deadline, since) <= 0) {
        throw invalid('household.measure.deadline_passed', `deadline ${deadline} is not after ${plannedAt ? 'the planning' : 'now'} (${since})`, { deadline, since });
      }
      return [
        makeEvent('PlanMeasureAdded', planMeasureAddedSchema, {
          measureId: command.measureId,
          kind: command.kind,
          description: command.description,
          responsibleUnitId: command.responsibleUnitId,
          deadline,
          ...(plannedAt !== undefined ? { plannedAt } : {}),
        }),
      ];
    }

    case 'completePlanMeasure': {
      authorize(actor, 'household.completePlanMeasure', villages, hierarchy);
      const measure = h.measures[command.measureId];
      if (!measure) {
        throw notFound('household.measure.unknown', `plan measure ${command.measureId} does not exist`, {
          measureId: command.measureId,
        });
      }
      if (measure.completed) {
        throw refuse('household.measure.already_completed', `plan measure ${command.measureId} is already completed`, {
          measureId: command.measureId,
        });
      }
      return [
        makeEvent('PlanMeasureCompleted', planMeasureCompletedSchema, {
          measureId: command.measureId,
          evidence: command.evidence,
        }),
      ];
    }

    case 'assessHousehold': {
      authorize(actor, 'household.assess', villages, hierarchy);
      const { food, clothing, education, medical, housing, water } = command;
      const meets = food && clothing && education && medical && housing && water;
      return [
        makeEvent('HouseholdAssessed', householdAssessedSchema, {
          food,
          clothing,
          education,
          medical,
          housing,
          water,
          meetsStandard: meets,
        }),
      ];
    }

    case 'raiseMonitoringFlag': {
      authorize(actor, 'household.flag', villages, hierarchy);
      requireReason(command.reason, 'household.flag.reason_required');
      if (h.monitoringFlag.raised) {
        throw refuse('household.flag.already_raised', 'the monitoring flag is already raised', {
          householdId: h.householdId,
        });
      }
      return [makeEvent('MonitoringFlagRaised', monitoringFlagRaisedSchema, { reason: command.reason })];
    }

    case 'clearMonitoringFlag': {
      authorize(actor, 'household.flag', villages, hierarchy);
      requireReason(command.reason, 'household.flag.reason_required');
      if (!h.monitoringFlag.raised) {
        throw refuse('household.flag.not_raised', 'no monitoring flag is raised', { householdId: h.householdId });
      }
      return [makeEvent('MonitoringFlagCleared', monitoringFlagClearedSchema, { reason: command.reason })];
    }

    default:
      return assertNever(command, 'household command');
  }
}

export const householdDecider: Decider<HouseholdCommand, HouseholdEvent, HouseholdState> = {
  initialState: initialHouseholdState,
  evolve: evolveHousehold,
  decide: decideHousehold,
};
