import { describe, expect, it } from 'vitest';
import { fold } from '../../../events/decider.js';
import {
  type ListingCommand,
  listingDecider,
  type ListingEvent,
  listingStreamId,
} from '../../../events/listing/index.js';
import { actors, ctx, given, PREFECTURE, QIBIE, TACHENG, WEIXI, WEIXI_SITE } from '../gwt.js';

const listingId = 'L-2020-WX-TC';
const cmd = <T extends ListingCommand>(command: T) => command;

const list = cmd({
  type: 'listTarget',
  listingId,
  targetUnitId: TACHENG,
  supervisingUnitId: WEIXI,
  leader: { name: '李明', position: '县委副书记' },
  reason: '剩余贫困人口超过50人，挂牌督战',
  metrics: { remainingPoorPeople: 77, povertyIncidencePercent: 1.04, registeredHouseholds: 666 },
});
const listed: ListingEvent = {
  type: 'TargetListed',
  data: {
    listingId,
    targetUnitId: TACHENG,
    supervisingUnitId: WEIXI,
    leader: { name: '李明', position: '县委副书记' },
    reason: '剩余贫困人口超过50人，挂牌督战',
    metrics: { remainingPoorPeople: 77, povertyIncidencePercent: 1.04, registeredHouseholds: 666 },
  },
};
const delist = cmd({ type: 'delistTarget', listingId });
const delisted = (a = actors.weixiSupervisor): ListingEvent => ({
  type: 'TargetDelisted',
  data: { listingId, verifiedBy: { userId: a.userId, unitId: a.unitId } },
});

describe('listing stream (挂牌督战)', () => {
  it('names its stream listing-<id>', () => {
    expect(listingStreamId(listingId)).toBe(`listing-${listingId}`);
  });

  it('lists a target under a supervising unit above it, with a named leader', () => {
    const { state } = given(listingDecider).when(list, ctx(actors.weixiSupervisor)).then([listed]);
    expect(state).toMatchObject({ status: 'listed', leader: { name: '李明' }, verifiedBy: null });
    // A prefecture supervisor may list a relocation site for the prefecture.
    given(listingDecider)
      .when({ ...list, targetUnitId: WEIXI_SITE, supervisingUnitId: PREFECTURE }, ctx(actors.prefectureSupervisor))
      .run();
  });

  it.each([
    ['twice', [listed], list, actors.weixiSupervisor, 'conflict', 'listing.list.duplicate'],
    ['an unknown target', [], { ...list, targetUnitId: 'nowhere' }, actors.weixiSupervisor, 'not_found', 'listing.list.unknown_unit'],
    ['a supervising unit not above the target', [], { ...list, supervisingUnitId: TACHENG }, actors.weixiSupervisor, 'validation', 'listing.list.supervisor_not_above'],
    ['a supervising unit below the target', [], { ...list, targetUnitId: WEIXI, supervisingUnitId: TACHENG }, actors.prefectureSupervisor, 'validation', 'listing.list.supervisor_not_above'],
    ['on behalf of a unit above the actor', [], { ...list, supervisingUnitId: PREFECTURE }, actors.weixiSupervisor, 'forbidden', 'listing.list.supervisor_outside_scope'],
    ['by a supervisor not above the target', [], list, actors.tachengSupervisor, 'forbidden', 'access.scope'],
    ['by a cadre', [], list, actors.weixiCadre, 'forbidden', 'access.role'],
    ['without a reason', [], { ...list, reason: ' ' }, actors.weixiSupervisor, 'validation', 'listing.list.reason_required'],
    ['with a malformed metric name', [], { ...list, metrics: { '剩余人口': 1 } }, actors.weixiSupervisor, 'validation', 'event.encode'],
  ] as const)('refuses listing %s', (_name, history, command, actor, code, rule) => {
    given(listingDecider, [...history]).when(command, ctx(actor)).thenRefused(code, rule);
  });

  it('delists when a unit strictly above the target verifies, recording who', () => {
    const { state } = given(listingDecider, [listed]).when(delist, ctx(actors.weixiSupervisor)).then([delisted()]);
    expect(state).toMatchObject({ status: 'delisted', verifiedBy: { userId: 'sup-weixi', unitId: WEIXI } });
    given(listingDecider, [listed]).when(delist, ctx(actors.prefectureSupervisor)).then([delisted(actors.prefectureSupervisor)]);
  });

  it.each([
    ['an unknown listing', [], actors.weixiSupervisor, 'not_found', 'listing.not_found'],
    ['twice', [listed, delisted()], actors.weixiSupervisor, 'conflict', 'listing.delist.already_delisted'],
    ['by the target itself', [listed], actors.tachengSupervisor, 'forbidden', 'listing.delist.own_unit'],
    ['by a unit below the target', [listed], { ...actors.tachengSupervisor, unitId: QIBIE }, 'forbidden', 'listing.delist.not_above'],
    ['by a unit elsewhere', [listed], actors.deqinSupervisor, 'forbidden', 'listing.delist.not_above'],
    ['by a cadre above', [listed], actors.weixiCadre, 'forbidden', 'access.role'],
  ] as const)('refuses delisting %s', (_name, history, actor, code, rule) => {
    given(listingDecider, [...history]).when(delist, ctx(actor)).thenRefused(code, rule);
  });

  it('refuses a delisting addressed to another listing', () => {
    given(listingDecider, [listed])
      .when({ type: 'delistTarget', listingId: 'L-other' }, ctx(actors.weixiSupervisor))
      .thenRefused('validation', 'listing.stream_mismatch');
  });

  it('evolve ignores a delisting of an unlisted target', () => {
    expect(fold(listingDecider, [delisted()])).toEqual({ status: 'none' });
  });
});
