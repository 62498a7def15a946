import { Alert, Timeline, Typography } from 'antd';
import dayjs from 'dayjs';
import type { ProblemHistory } from '../../api/types.js';
import { UnitName } from '../../components/unit-name.js';
import { labelOf } from '../../i18n.js';
import { useSession } from '../../session.js';

/** What an event changed, as `field: value` pairs (the ids repeated in every event left out). */
function changes(data: Record<string, unknown>): string {
  return Object.entries(data)
    .filter(([key]) => key !== 'problemId' && key !== 'policy')
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('；');
}

/** Every event of the problem's stream with who, when and what, and the audit-chain check of the stream. */
export function ProblemTimeline({ history, until }: { history: ProblemHistory; until: string | null }) {
  const { t, lang } = useSession();
  const events = until ? history.events.filter((e) => dayjs(e.recordedAt).valueOf() <= dayjs(until).valueOf()) : history.events;
  const { verification } = history;
  return (
    <>
      <Alert
        type={verification.ok ? 'success' : 'error'}
        showIcon
        data-testid="audit"
        title={verification.ok ? t('auditOk', { n: verification.checked }) : t('auditBroken', { n: verification.brokenAt?.revision ?? '?' })}
        description={verification.brokenAt?.reason}
        style={{ marginBottom: 16 }}
      />
      <Timeline
        data-testid="timeline"
        items={events.map((e) => ({
          key: e.position,
          color: e.type === 'ProblemCleared' ? 'green' : e.type === 'ProblemEscalated' ? 'red' : 'blue',
          children: (
            <div>
              <Typography.Text strong>{labelOf(lang, 'event', e.type)}</Typography.Text>{' '}
              <Typography.Text type="secondary">
                {dayjs(e.occurredAt).format('YYYY-MM-DD HH:mm:ss')} · {e.actor.userId}（<UnitName id={e.actor.unitId} /> · {labelOf(lang, 'role', e.actor.role)}）
              </Typography.Text>
              <div style={{ wordBreak: 'break-all' }}>{changes(e.data)}</div>
            </div>
          ),
        }))}
      />
    </>
  );
}
