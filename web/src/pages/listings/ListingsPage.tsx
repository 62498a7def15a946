import { Table, Tag } from 'antd';
import dayjs from 'dayjs';
import type { LedgerPage, ListingRow } from '../../api/types.js';
import { useLedger } from '../../api/use-ledger.js';
import { UnitName } from '../../components/unit-name.js';
import { useSession } from '../../session.js';

/** A listing's leader as the API holds it: a name, or an object with one. */
const leaderOf = (leader: unknown): string =>
  typeof leader === 'string' ? leader : leader && typeof leader === 'object' ? Object.values(leader as Record<string, unknown>).filter((v) => typeof v === 'string').join(' ') : '';

/** 挂牌督战: listed targets of the subtree, active first. */
export function ListingsPage() {
  const { principal, t } = useSession();
  const board = useLedger<LedgerPage<ListingRow>>('listingBoard', { query: { unitId: principal!.unitId, limit: 500 } });
  const rows = [...(board.data?.items ?? [])].sort((a, b) => Number(b.active) - Number(a.active));
  return (
    <Table<ListingRow>
      rowKey="listingId"
      size="small"
      loading={board.loading && !board.data}
      dataSource={rows}
      scroll={{ x: 'max-content' }}
      locale={{ emptyText: t('empty') }}
      columns={[
        { title: t('targetUnit'), key: 'target', render: (_, l) => <UnitName id={l.targetUnitId} /> },
        { title: t('leader'), key: 'leader', render: (_, l) => leaderOf(l.leader) },
        { title: t('reason'), dataIndex: 'reason' },
        { title: t('status'), key: 'active', render: (_, l) => (l.active ? <Tag color="red">{t('active')}</Tag> : <Tag color="green">{t('delisted')}</Tag>) },
        { title: t('listedAt'), dataIndex: 'listedAt', render: (d: string) => dayjs(d).format('YYYY-MM-DD') },
        { title: t('unit'), key: 'supervising', render: (_, l) => <UnitName id={l.supervisingUnitId} /> },
      ]}
    />
  );
}
