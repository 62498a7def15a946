import { fireEvent, render, screen } from '@testing-library/react';
import dayjs from 'dayjs';
import { describe, expect, it, vi } from 'vitest';
import { translator } from '../i18n.js';
import { AS_OF_FORMAT, AsOfPicker, InspectionBanner, asOfOf } from './as-of-picker.js';

const t = translator('zh');

describe('the as-of picker (inspection mode)', () => {
  it('turns a typed moment into the asOf the API takes, with the offset', () => {
    const onChange = vi.fn();
    render(<AsOfPicker value={null} onChange={onChange} t={t} />);
    const input = screen.getByPlaceholderText('选择检查时刻');
    fireEvent.mouseDown(input);
    fireEvent.focus(input);
    fireEvent.change(input, { target: { value: '2026-06-30 18:00:00' } });
    fireEvent.keyDown(input, { key: 'Enter', code: 'Enter', keyCode: 13 });
    expect(onChange).toHaveBeenCalledTimes(1);
    const asOf = onChange.mock.calls[0]![0] as string;
    expect(asOf).toMatch(/^2026-06-30T18:00:00[+-]\d\d:\d\d$/);
    expect(dayjs(asOf).format(AS_OF_FORMAT)).toBe('2026-06-30 18:00:00');
  });

  it('shows the picked moment and returns to live when cleared', () => {
    const onChange = vi.fn();
    const { container } = render(<AsOfPicker value="2026-06-30T18:00:00+08:00" onChange={onChange} t={t} />);
    expect(screen.getByDisplayValue(dayjs('2026-06-30T18:00:00+08:00').format(AS_OF_FORMAT))).toBeTruthy();
    fireEvent.mouseDown(container.querySelector('.ant-picker-clear')!);
    fireEvent.mouseUp(container.querySelector('.ant-picker-clear')!);
    fireEvent.click(container.querySelector('.ant-picker-clear')!);
    expect(onChange).toHaveBeenLastCalledWith(null);
  });

  it('marks the screen while inspecting, and leaves on request', () => {
    const onLeave = vi.fn();
    const { rerender } = render(<InspectionBanner asOf={null} onLeave={onLeave} t={t} />);
    expect(screen.queryByTestId('inspection-banner')).toBeNull();
    rerender(<InspectionBanner asOf="2026-06-30T18:00:00+08:00" onLeave={onLeave} t={t} />);
    expect(screen.getByTestId('inspection-banner').textContent).toContain(`检查模式：显示截至 ${dayjs('2026-06-30T18:00:00+08:00').format(AS_OF_FORMAT)} 的台账`);
    fireEvent.click(screen.getByRole('button', { name: '返回实时' }));
    expect(onLeave).toHaveBeenCalled();
  });

  it('keeps the moment exact through the round trip', () => {
    const moment = dayjs('2027-01-02T03:04:05Z');
    expect(dayjs(asOfOf(moment)).valueOf()).toBe(moment.valueOf());
  });
});
