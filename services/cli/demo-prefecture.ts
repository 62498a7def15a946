import type { UnitLevel } from '../../events/unit/index.js';

/**
 * The demo prefecture (迪庆藏族自治州) built from the figures of the 2020 report in DOMAIN.md. Unit
 * names are real where the report or the map gives them; village names beyond those are made up, and so
 * is every person's name (示例 = example).
 */
export interface DemoUnit {
  id: string;
  name: string;
  level: UnitLevel;
  parentId: string | null;
}

export const DIQING = '533400';
export const SHANGRI_LA = '533401';
export const DEQIN = '533422';
export const WEIXI = '533423';
export const TACHENG = '533423103';

const weixiTownships: [string, string][] = [
  ['533423101', '保和镇'],
  ['533423102', '叶枝镇'],
  [TACHENG, '塔城镇'],
  ['533423104', '永春乡'],
  ['533423105', '攀天阁乡'],
  ['533423106', '白济汛乡'],
  ['533423107', '康普乡'],
  ['533423108', '巴迪乡'],
  ['533423109', '中路乡'],
  ['533423110', '维登乡'],
];
const tachengVillages = ['启别村', '其宗村', '塔城村', '巴珠村', '柯那村'];
const shangriLaTownships: [string, string][] = [
  ['533401101', '建塘镇'],
  ['533401102', '小中甸镇'],
  ['533401103', '虎跳峡镇'],
];
const deqinTownships: [string, string][] = [
  ['533422101', '升平镇'],
  ['533422102', '奔子栏镇'],
  ['533422103', '佛山乡'],
];
const ordinal = ['一', '二', '三', '四', '五'];

export function demoUnits(): DemoUnit[] {
  const units: DemoUnit[] = [
    { id: DIQING, name: '迪庆藏族自治州', level: 'prefecture', parentId: null },
    { id: SHANGRI_LA, name: '香格里拉市', level: 'county', parentId: DIQING },
    { id: DEQIN, name: '德钦县', level: 'county', parentId: DIQING },
    { id: WEIXI, name: '维西傈僳族自治县', level: 'county', parentId: DIQING },
  ];
  const township = (county: string, [id, name]: [string, string], villages: number) => {
    units.push({ id, name, level: 'township', parentId: county });
    for (let v = 0; v < villages; v++) {
      const villageName = id === TACHENG ? tachengVillages[v]! : `${name.slice(0, -1)}${ordinal[v]}村`;
      units.push({ id: `${id}${String(201 + v)}`, name: villageName, level: 'village', parentId: id });
    }
  };
  for (const t of weixiTownships) township(WEIXI, t, 5);
  for (const t of shangriLaTownships) township(SHANGRI_LA, t, 3);
  for (const t of deqinTownships) township(DEQIN, t, 3);
  // Weixi: 34 relocation sites (易地扶贫搬迁安置点), the county seat's large one and 33 in the townships.
  units.push({ id: `${WEIXI}901`, name: '维西县城集中安置点', level: 'relocation_site', parentId: WEIXI });
  for (let i = 0; i < 33; i++) {
    const [townshipId, townshipName] = weixiTownships[i % weixiTownships.length]!;
    units.push({
      id: `${townshipId}9${String(i + 1).padStart(2, '0')}`,
      name: `${townshipName}安置点${Math.floor(i / weixiTownships.length) + 1}`,
      level: 'relocation_site',
      parentId: townshipId,
    });
  }
  // Deqin: 3 concentrated relocation sites.
  for (let i = 0; i < 3; i++) {
    units.push({ id: `${DEQIN}90${i + 1}`, name: `德钦县集中安置点${ordinal[i]}`, level: 'relocation_site', parentId: DEQIN });
  }
  return units;
}

export const villagesOf = (units: DemoUnit[], parentPrefix: string) =>
  units.filter((u) => u.level === 'village' && u.id.startsWith(parentPrefix)).map((u) => u.id);

/** The figures the demo reproduces (DOMAIN.md, "Figures in the seed"). */
export const figures = {
  tacheng: { registeredHouseholds: 666, outOfPoverty: 630 },
  weixi: {
    householdsNotYetOut: 352,
    planMeasures: 1696,
    planMeasuresCompleted: 1293,
    reachedStandard: 188,
    monitoredHouseholds: 169,
    listedTownships: 10,
    listedVillages: 41,
    relocationSites: 34,
  },
  shangriLa: { earlierProblemsAllRectified: 221 },
  deqin: { concentratedSites: 3, workTargets: 50, sitesUnderFollowUp: 21 },
};
