import { z } from 'zod';

export const roles = ['admin', 'supervisor', 'cadre', 'inspector'] as const;
export const roleSchema = z.enum(roles);
export type Role = z.infer<typeof roleSchema>;

/** The authenticated caller: a user acting for one unit in one role. */
export interface Principal {
  userId: string;
  unitId: string;
  role: Role;
}

/** The claims Duban reads from a token; anything else in the token is ignored. */
export const claimsSchema = z.object({
  sub: z.string().min(1).max(200),
  unit: z.string().min(1).max(100),
  role: roleSchema,
});
