import { Tag } from 'antd';
import type { Colour } from '../api/types.js';
import { labelOf } from '../i18n.js';
import { useSession } from '../session.js';

const tagColour: Record<Colour, string> = { none: 'default', blue: 'blue', yellow: 'gold', red: 'red' };

export function ColourTag({ colour }: { colour: Colour }) {
  const { lang } = useSession();
  return <Tag color={tagColour[colour]}>{labelOf(lang, 'colour', colour)}</Tag>;
}

/** 户户清 / 村村清 / 县县清 when the unit is clear, "not clear" otherwise. */
export function ClearTag({ clear, clearance }: { clear: boolean; clearance: string | null }) {
  const { lang, t } = useSession();
  return clear ? <Tag color="green">{labelOf(lang, 'clearance', clearance ?? '') || t('clearFlag')}</Tag> : <Tag>{t('notClear')}</Tag>;
}

export function StatusTag({ status }: { status: string }) {
  const { lang } = useSession();
  const colour = status === 'cleared' ? 'green' : status === 'submitted' ? 'processing' : 'default';
  return <Tag color={colour}>{labelOf(lang, 'status', status)}</Tag>;
}

const rank: Record<Colour, number> = { none: 0, blue: 1, yellow: 2, red: 3 };

/** The most serious warning colour among open problems (none when nothing is open or late). */
export function worstColour(rows: readonly { colour: Colour; open: boolean }[]): Colour {
  let worst: Colour = 'none';
  for (const row of rows) if (row.open && rank[row.colour] > rank[worst]) worst = row.colour;
  return worst;
}
