import { parseArgs } from 'node:util';
import { roleSchema } from '../auth/principal.js';
import { signToken } from '../auth/tokens.js';

/**
 * `npm run token -- --unit <id> --role <role> [--user <id>] [--expires 12h]` prints a bearer token
 * signed with JWT_SECRET, for local use with curl and the Swagger UI.
 */
const { values } = parseArgs({
  options: {
    unit: { type: 'string' },
    role: { type: 'string' },
    user: { type: 'string' },
    expires: { type: 'string', default: '12h' },
  },
});

function fail(message: string): never {
  process.stderr.write(`${message}\nusage: npm run token -- --unit <unitId> --role admin|supervisor|cadre|inspector [--user <id>] [--expires 12h]\n`);
  process.exit(2);
}

const secret = process.env.JWT_SECRET;
if (!secret) fail('JWT_SECRET is not set: export the same secret the service runs with');
if (!values.unit) fail('--unit is required');
const role = roleSchema.safeParse(values.role);
if (!role.success) fail(`--role must be one of ${roleSchema.options.join(', ')}`);

const token = await signToken(
  secret,
  { userId: values.user ?? `${role.data}@${values.unit}`, unitId: values.unit, role: role.data },
  { expiresIn: values.expires },
);
process.stdout.write(`${token}\n`);
