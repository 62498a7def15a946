/**
 * The Chinese words offices use for the domain's codes, for workbooks going out and coming in. An
 * imported cell may carry either the code (`housing`) or its label (`住房安全`).
 */
export const labels = {
  level: { prefecture: '州（市）', county: '县（市）', township: '乡（镇）', village: '行政村', relocation_site: '易地扶贫搬迁安置点' },
  householdCategory: { registered: '建档立卡户', edge: '边缘户', monitored: '监测户' },
  planMeasureKind: {
    industry: '产业',
    employment: '就业',
    education: '教育',
    medical: '医疗',
    housing: '住房',
    water: '饮水',
    social_security: '社会保障',
    relocation: '易地搬迁',
    other: '其他',
  },
  problemCategory: {
    income: '收入',
    food_clothing: '吃穿',
    education: '义务教育',
    medical: '基本医疗',
    housing: '住房安全',
    water: '饮水安全',
    industry: '产业',
    employment: '就业',
    relocation: '易地搬迁',
    funds: '资金',
    work_style: '作风',
    other: '其他',
  },
  problemSource: { inspection: '督查巡查', audit: '审计', self_check: '自查', look_back: '回头看' },
  severity: { low: '一般', medium: '较重', high: '严重' },
  problemStatus: { open: '未签收', acknowledged: '整改中', submitted: '已提交待验收', cleared: '已销号' },
  colour: { none: '无', blue: '蓝色', yellow: '黄色', red: '红色' },
  evidenceKind: { photo: '照片', document: '文件', video: '视频', audio: '音频', record: '记录', other: '其他' },
} as const satisfies Record<string, Record<string, string>>;
export type LabelSet = keyof typeof labels;

export const yesNo = (value: boolean) => (value ? '是' : '否');

/** The code for a cell that holds a code or its label; undefined when it is neither. */
export function codeOf(set: LabelSet, cell: string): string | undefined {
  const entries = Object.entries(labels[set]) as [string, string][];
  const text = cell.trim();
  return entries.find(([code, label]) => code === text || label === text)?.[0];
}

/** Background colours (ARGB) for the 红黄蓝 warning. */
export const colourFills: Record<string, string | undefined> = { red: 'FFFF4D4F', yellow: 'FFFFD666', blue: 'FF69B1FF' };
