import { roles, type Role } from '../ops/op.js';
import { TwlError } from '../runtime/errors.js';

/** Each role may do what the roles before it may: viewer < operator < manager < admin. */
export const roleRank = (role: Role): number => roles.indexOf(role);

/** Whether a caller with `role` may call something that needs at least `minRole`. Unknown roles may do nothing. */
export function roleAllows(minRole: Role, role: Role | string | undefined | null): boolean {
  const have = roles.indexOf(role as Role);
  const need = roles.indexOf(minRole);
  return have >= 0 && need >= 0 && have >= need;
}

/** Why a caller may not call a tool: the same words over MCP and REST. */
export const roleRefusal = (tool: string, minRole: Role, role: Role): string => `The tool ${tool} needs the ${minRole} role; this caller is ${role}.`;

/** Anything that carries an op policy: an op, or a command class with its op. */
export interface HasMinRole {
  policy: { minRole: Role };
}

/**
 * The items a role may call, in their order: for `tools/list`, the OpenAPI document and the REST
 * routes, so a caller sees exactly what it may call. `minRoleOf` reads the minimum role of items
 * that are not ops (a command class: `(c) => c.op.policy.minRole`).
 */
export function allowedFor<T extends HasMinRole>(items: Iterable<T>, role: Role | string | undefined | null): T[];
export function allowedFor<T>(items: Iterable<T>, role: Role | string | undefined | null, minRoleOf: (item: T) => Role): T[];
export function allowedFor<T>(items: Iterable<T>, role: Role | string | undefined | null, minRoleOf: (item: T) => Role = (item) => (item as unknown as HasMinRole).policy.minRole): T[] {
  return [...items].filter((item) => roleAllows(minRoleOf(item), role));
}

/** Throws TWL_POLICY_DENIED (exit 4; the HTTP face answers 403) unless `role` reaches `minRole`. */
export function assertRoleAllows(minRole: Role, role: Role | string | undefined | null, what: string): void {
  if (roleAllows(minRole, role)) return;
  throw new TwlError('TWL_POLICY_DENIED', `${what} needs the ${minRole} role or higher; this API key has the ${role ?? 'no'} role.`, {
    actions: [`Use a key with the ${minRole} role or higher (an admin creates one with \`twl keys create --role ${minRole}\`).`],
    details: { minRole, role: role ?? null },
  });
}
