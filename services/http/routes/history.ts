import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { idSchema } from '../../../events/common.js';
import type { RecordedEvent } from '../../../events/envelope.js';
import { decodeEvent } from '../../../events/registry.js';
import { evolveHousehold, householdStreamId, initialHouseholdState, type HouseholdEvent } from '../../../events/household/index.js';
import { listingStreamId } from '../../../events/listing/index.js';
import { unitStreamId } from '../../../events/unit/index.js';
import { notFound } from '../../../events/errors.js';
import { streamHistory } from '../../audit/history.js';
import { mayRead, unitsOpenedBy } from '../../audit/scope.js';
import { StreamNotFoundError } from '../../ports/event-store.js';
import { errorResponses } from '../problem-details.js';
import { actorOf } from './common.js';

export const historyEventSchema = z.object({
  position: z.string(),
  revision: z.number().int(),
  type: z.string(),
  data: z.unknown(),
  actor: z.object({ userId: z.string(), unitId: z.string(), role: z.string() }),
  occurredAt: z.string(),
  recordedAt: z.string(),
  eventId: z.string(),
  correlationId: z.string(),
  causationId: z.string(),
  hash: z.string(),
  prevHash: z.string().nullable(),
});

export const streamHistorySchema = z
  .object({
    streamId: z.string(),
    events: z.array(historyEventSchema),
    verification: z.object({
      ok: z.boolean(),
      chain: z.object({
        ok: z.boolean(),
        checked: z.number().int(),
        brokenAt: z.object({ streamId: z.string(), revision: z.number().int(), position: z.string(), reason: z.string() }).optional(),
      }),
      auditTree: z
        .object({
          ok: z.boolean(),
          checked: z.number().int(),
          pending: z.number().int(),
          breaks: z.array(z.object({ streamId: z.string(), revision: z.number().int(), position: z.string(), eventId: z.string().nullable(), problem: z.string(), reason: z.string() })),
        })
        .nullable()
        .describe('The stream against its leaves in the audit tree: also names events deleted from it'),
    }),
    plan: z.unknown().optional().describe('Households: the plan (一户一方案) as the history leaves it'),
  })
  .meta({ id: 'StreamHistory' });

/** Every stream's history for inspectors: households with their plan, listings and units. */
export const historyRoutes: FastifyPluginAsyncZod = async (app) => {
  const { store, hierarchy } = app.duban;
  const params = z.strictObject({ id: idSchema });

  async function history(request: Parameters<typeof actorOf>[0], kind: string, streamId: string) {
    let events: RecordedEvent[];
    try {
      events = await store.readStream(streamId);
    } catch (error) {
      if (error instanceof StreamNotFoundError) throw notFound(`${kind}.not_found`, `no ${kind} ${streamId}`);
      throw error;
    }
    const units = (events[0] && unitsOpenedBy(events[0])) ?? [];
    const actor = actorOf(request);
    await hierarchy.ensure([actor.unitId, ...units]);
    // Out of sight reads as unknown, as elsewhere in the API.
    if (!mayRead(actor, units, hierarchy.view)) throw notFound(`${kind}.not_found`, `no ${kind} ${streamId}`);
    return { recorded: events, view: { streamId, ...(await streamHistory(events, app.duban.audit)) } };
  }

  const schema = (operationId: string, summary: string, tags: string[]) => ({ operationId, summary, tags, params, response: { 200: streamHistorySchema, ...errorResponses } });

  app.get('/households/:id/history', { schema: schema('getHouseholdHistory', 'Every event of a household and its plan, with actor, times and the verification of its stream', ['households']) }, async (request) => {
    const { recorded, view } = await history(request, 'household', householdStreamId(request.params.id));
    let plan = initialHouseholdState;
    for (const event of recorded) {
      try {
        plan = evolveHousehold(plan, decodeEvent(event.type, event.metadata.schemaVersion, event.data) as HouseholdEvent);
      } catch {
        // An event that does not decode is named by the verification; the plan skips it.
      }
    }
    return { ...view, plan };
  });
  app.get('/listings/:id/history', { schema: schema('getListingHistory', 'Every event of a listing, with actor, times and the verification of its stream', ['listings']) }, async (request) => {
    return (await history(request, 'listing', listingStreamId(request.params.id))).view;
  });
  app.get('/units/:id/history', { schema: schema('getUnitHistory', 'Every event of a unit, with actor, times and the verification of its stream', ['organisation']) }, async (request) => {
    return (await history(request, 'unit', unitStreamId(request.params.id))).view;
  });
};
