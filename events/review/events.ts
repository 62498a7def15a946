import { z } from 'zod';
import { dateSchema, figuresSchema, idSchema, monthSchema } from '../common.js';

/** One stream per unit holds its monthly reviews (一月一研判) and daily reports (每日一报). */
export const reviewStreamId = (unitId: string) => `review-${unitId}`;

export const monthlyReviewCompiledSchema = z.strictObject({
  month: monthSchema,
  unitId: idSchema,
  figures: figuresSchema,
});

export const dailyReportCompiledSchema = z.strictObject({
  day: dateSchema,
  unitId: idSchema,
  figures: figuresSchema,
});

export type MonthlyReviewCompiled = {
  type: 'MonthlyReviewCompiled';
  data: z.infer<typeof monthlyReviewCompiledSchema>;
};
export type DailyReportCompiled = { type: 'DailyReportCompiled'; data: z.infer<typeof dailyReportCompiledSchema> };
export type ReviewEvent = MonthlyReviewCompiled | DailyReportCompiled;

export const reviewEventSchemas = {
  MonthlyReviewCompiled: monthlyReviewCompiledSchema,
  DailyReportCompiled: dailyReportCompiledSchema,
} as const;
