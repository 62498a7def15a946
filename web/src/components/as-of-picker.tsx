import { Alert, Button, DatePicker } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import type { Translate } from '../i18n.js';

export const AS_OF_FORMAT = 'YYYY-MM-DD HH:mm:ss';

/** The picked moment as the API takes it: ISO 8601 with the browser's offset (asOf=2027-06-30T18:00:00+08:00). */
export const asOfOf = (moment: Dayjs): string => moment.format('YYYY-MM-DDTHH:mm:ssZ');

/** Inspection mode's switch: pick a moment to see every ledger as of then; clear it to return to live. */
export function AsOfPicker({ value, onChange, t }: { value: string | null; onChange: (asOf: string | null) => void; t: Translate }) {
  return (
    <DatePicker
      showTime
      format={AS_OF_FORMAT}
      value={value ? dayjs(value) : null}
      placeholder={t('pickMoment')}
      aria-label={t('pickMoment')}
      disabledDate={(d) => d.isAfter(dayjs(), 'day')}
      onChange={(moment: Dayjs | null) => onChange(moment ? asOfOf(moment) : null)}
      style={{ minWidth: 200 }}
    />
  );
}

/** Shown on every screen while inspection mode is on, so nobody takes the past for the present. */
export function InspectionBanner({ asOf, onLeave, t }: { asOf: string | null; onLeave: () => void; t: Translate }) {
  if (!asOf) return null;
  return (
    <Alert
      type="warning"
      showIcon
      role="status"
      data-testid="inspection-banner"
      title={t('inspectionAt', { at: dayjs(asOf).format(AS_OF_FORMAT) })}
      action={
        <Button size="small" onClick={onLeave}>
          {t('leaveInspection')}
        </Button>
      }
      style={{ borderRadius: 0 }}
    />
  );
}
