// Tasks: made by the capabilities (a retest, a contact to locate, a transfer, door-to-door sampling) or by
// hand; assigned to a district, street or team with a deadline; changed one by one or in bulk.
import type { Queryable } from '../core/db.ts';
import type { Principal } from '../core/auth.ts';
import { badRequest } from '../core/errors.ts';

export const TASK_STATUSES = ['open', 'accepted', 'done', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface TaskFilter {
  status?: TaskStatus;
  kind?: string;
  overdue?: boolean;
  districtId?: number;
  streetId?: number;
  team?: string;
  limit: number;
  after?: number;
}

/** A condition keeping tasks within the caller's jurisdiction (a street worker: their street's tasks). */
function reach(p: Principal, params: unknown[]): string {
  if (p.streetId) return `t.street_id = $${params.push(p.streetId)}`;
  if (p.districtId) return `t.district_id = $${params.push(p.districtId)}`;
  return 'TRUE';
}

export async function listTasks(q: Queryable, p: Principal, f: TaskFilter, now: Date) {
  const params: unknown[] = [f.limit];
  const where = [reach(p, params)];
  if (f.status) where.push(`t.status = $${params.push(f.status)}`);
  if (f.kind) where.push(`t.kind = $${params.push(f.kind)}`);
  if (f.overdue) where.push(`t.status IN ('open', 'accepted') AND t.due_at < $${params.push(now)}`);
  if (f.districtId) where.push(`t.district_id = $${params.push(f.districtId)}`);
  if (f.streetId) where.push(`t.street_id = $${params.push(f.streetId)}`);
  if (f.team) where.push(`t.team = $${params.push(f.team)}`);
  if (f.after) where.push(`t.id > $${params.push(f.after)}`);
  const rows = await q.query<Record<string, unknown>>(
    `SELECT t.id, t.kind, t.title, t.district_id AS "districtId", t.street_id AS "streetId", t.team, cardinality(t.person_ids) AS persons, t.due_at AS "dueAt", t.status,
            t.source, t.created_by AS "createdBy", t.created_at AS "createdAt", t.updated_at AS "updatedAt", t.done_at AS "doneAt"
       FROM tasks t WHERE ${where.join(' AND ')} ORDER BY t.id LIMIT $1`,
    params,
  );
  const items = rows.map((r) => ({ ...r, id: Number(r.id), overdue: r.dueAt !== null && ['open', 'accepted'].includes(r.status as string) && new Date(r.dueAt as Date) < now }));
  return { items, next: items.length === f.limit ? items[items.length - 1].id : null };
}

export interface TaskChange {
  status?: TaskStatus;
  districtId?: number | null;
  streetId?: number | null;
  team?: string | null;
  dueAt?: string | null;
}

/**
 * Changes tasks in bulk (assignment, deadline, status). Only tasks within the caller's reach change; the
 * answer says which ids were changed, and an id out of reach or unknown is named, not silently skipped.
 */
export async function changeTasks(q: Queryable, p: Principal, ids: number[], c: TaskChange, now: Date): Promise<{ changed: number[] }> {
  if (!ids.length) throw badRequest('No task ids.', { code: 'noTaskIds' });
  const sets: string[] = [];
  const params: unknown[] = [ids, now];
  if (c.status) sets.push(`status = $${params.push(c.status)}`, `done_at = CASE WHEN $${params.length} = 'done' THEN $2::timestamptz ELSE NULL END`);
  if (c.districtId !== undefined) sets.push(`district_id = $${params.push(c.districtId)}`);
  if (c.streetId !== undefined) sets.push(`street_id = $${params.push(c.streetId)}`);
  if (c.team !== undefined) sets.push(`team = $${params.push(c.team)}`);
  if (c.dueAt !== undefined) sets.push(`due_at = $${params.push(c.dueAt)}`);
  if (!sets.length) throw badRequest('Nothing to change: give status, districtId, streetId, team or dueAt.', { code: 'nothingToChange' });
  if (c.streetId) {
    const [s] = await q.query<{ district_id: number }>('SELECT district_id FROM streets WHERE id = $1', [c.streetId]);
    if (!s) throw badRequest(`No street ${c.streetId}.`, { code: 'streetUnknown', streetId: c.streetId });
    if (c.districtId !== undefined && c.districtId !== s.district_id) throw badRequest(`Street ${c.streetId} is not in district ${c.districtId}.`, { code: 'streetNotInDistrict', streetId: c.streetId, districtId: c.districtId });
    if (c.districtId === undefined) sets.push(`district_id = $${params.push(s.district_id)}`);
  }
  // A district user may not hand tasks to another district.
  if (p.districtId && c.districtId !== undefined && c.districtId !== p.districtId) throw badRequest('Tasks can only be assigned within your district.', { code: 'tasksOwnDistrict' });
  const lockParams: unknown[] = [ids];
  const found = await q.query<{ id: number }>(`SELECT t.id FROM tasks t WHERE t.id = ANY($1) AND ${reach(p, lockParams)} ORDER BY t.id FOR UPDATE`, lockParams);
  const ok = new Set(found.map((r) => Number(r.id)));
  const missing = ids.filter((id) => !ok.has(id));
  if (missing.length) throw badRequest(`Tasks not found or outside your jurisdiction: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ' ...' : ''}. Nothing was changed.`, { code: 'tasksMissing', missing, count: missing.length });
  await q.query(`UPDATE tasks SET ${sets.join(', ')}, updated_at = $2 WHERE id = ANY($1)`, params);
  return { changed: [...ok].sort((a, b) => a - b) };
}
