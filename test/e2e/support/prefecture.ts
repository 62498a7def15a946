import { expect } from 'vitest';
import type { Client } from './client.js';

/**
 * A small Diqing for tests: two counties so there is always an "outside" to try.
 *   迪庆州 533400
 *   ├─ 维西县 533423 ─ 塔城镇 533423102 ─ 启别村 533423102201 (households hh-1, hh-2)
 *   │                                   └ 其宗村 533423102202
 *   └─ 德钦县 533422 ─ 升平镇 533422101 ─ 阿东村 533422101201 (household hh-9)
 */
export const U = {
  diqing: '533400',
  weixi: '533423',
  tacheng: '533423102',
  qibie: '533423102201',
  qizong: '533423102202',
  deqin: '533422',
  shengping: '533422101',
  adong: '533422101201',
} as const;

export const units = [
  { id: U.diqing, name: '迪庆藏族自治州', level: 'prefecture', parentId: null },
  { id: U.weixi, name: '维西傈僳族自治县', level: 'county', parentId: U.diqing },
  { id: U.tacheng, name: '塔城镇', level: 'township', parentId: U.weixi },
  { id: U.qibie, name: '启别村', level: 'village', parentId: U.tacheng },
  { id: U.qizong, name: '其宗村', level: 'village', parentId: U.tacheng },
  { id: U.deqin, name: '德钦县', level: 'county', parentId: U.diqing },
  { id: U.shengping, name: '升平镇', level: 'township', parentId: U.deqin },
  { id: U.adong, name: '阿东村', level: 'village', parentId: U.shengping },
] as const;

export const households = [
  { id: 'hh-1', villageId: U.qibie, members: 4, category: 'registered' },
  { id: 'hh-2', villageId: U.qibie, members: 3, category: 'edge' },
  { id: 'hh-9', villageId: U.adong, members: 5, category: 'registered' },
] as const;

/** Registers the units and households through the API, as the prefecture's admin. */
export async function registerPrefecture(admin: Client): Promise<void> {
  for (const unit of units) expect((await admin.post('/v1/units', unit)).status).toBe(201);
  for (const household of households) expect((await admin.post('/v1/households', household)).status).toBe(201);
}

/** An ISO time `seconds` from now (deadlines in the near future for shortened policies). */
export const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

export const evidence = [
  { kind: 'photo', uri: 's3://duban-evidence/qibie/house-1.jpg', sha256: 'a'.repeat(64) },
] as const;
