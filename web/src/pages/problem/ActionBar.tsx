import { Button, DatePicker, Form, Input, Modal, Space, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import type { Problem } from '../../api/types.js';
import { problemActions, type ProblemAction } from '../../can.js';
import { useSession } from '../../session.js';
import { actionSpecs, bodyExtras } from './actions.js';
import type { Command } from './use-command.js';

type FormAction = Exclude<ProblemAction, 'completeMeasure'>;

/** The actions the user's role may take on this problem now, and nothing else; a form for those that need input. */
export function ActionBar({ problem, command }: { problem: Problem; command: Command }) {
  const { principal, t } = useSession();
  const [open, setOpen] = useState<FormAction | null>(null);
  const [form] = Form.useForm();
  const offered = problemActions(problem, principal!).filter((a): a is FormAction => a !== 'completeMeasure');

  const run = async (action: FormAction, values: Record<string, unknown>) => {
    const spec = actionSpecs[action];
    const body: Record<string, unknown> = { ...bodyExtras[action] };
    for (const field of spec.fields) {
      const value = values[field.name];
      body[field.name] = field.kind === 'date' ? (value as Dayjs | undefined)?.format('YYYY-MM-DD') : value;
    }
    await command.send(spec.endpoint, { params: { id: problem.problemId }, body });
    setOpen(null);
    form.resetFields();
  };
  const start = (action: FormAction) => {
    if (actionSpecs[action].fields.length === 0) void run(action, {});
    else {
      form.setFieldsValue({ assigneeUnitId: problem.responsibleUnitId });
      setOpen(action);
    }
  };

  if (offered.length === 0) return <Typography.Text type="secondary">{t('noActions')}</Typography.Text>;
  return (
    <>
      <Space wrap>
        {offered.map((action) => (
          <Button
            key={action}
            type={action === 'clear' || action === 'acknowledge' || action === 'submit' ? 'primary' : 'default'}
            danger={actionSpecs[action].danger}
            disabled={command.busy}
            onClick={() => start(action)}
          >
            {t(actionSpecs[action].label)}
          </Button>
        ))}
      </Space>
      <Modal
        open={open !== null}
        title={open ? t(actionSpecs[open].label) : ''}
        okText={t('confirm')}
        cancelText={t('cancel')}
        confirmLoading={command.busy}
        onCancel={() => setOpen(null)}
        onOk={() => form.submit()}
        forceRender
      >
        <Form form={form} layout="vertical" onFinish={(values: Record<string, unknown>) => open && void run(open, values)}>
          {open &&
            actionSpecs[open].fields.map((field) => (
              <Form.Item key={field.name} name={field.name} label={t(field.label)} rules={[{ required: true }]}>
                {field.kind === 'date' ? <DatePicker style={{ width: '100%' }} /> : <Input />}
              </Form.Item>
            ))}
        </Form>
      </Modal>
    </>
  );
}
