// Protocol presets: every number of a protocol is data (shared/domain/rules.md), never a constant in code.
// Each derived decision records the preset id and version that made it.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import shanghai from './presets/shanghai-2022-05.json' with { type: 'json' };

/** The shape of a preset, taken from the shipped one so both stay in step. */
export type Preset = typeof shanghai;

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'presets');

export function listPresets(): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
}

/** Loads a preset by id (a shipped one) or from a file path (a deployment's own copy). */
export function loadPreset(idOrFile: string): Preset {
  const file = idOrFile.endsWith('.json') ? path.resolve(idOrFile) : path.join(dir, `${idOrFile}.json`);
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`Unknown protocol preset "${idOrFile}"; shipped presets: ${listPresets().join(', ')}`);
  }
  const preset = JSON.parse(raw) as Preset;
  const missing = missingKeys(shanghai, preset);
  if (missing.length) throw new Error(`Preset ${file} lacks settings: ${missing.join(', ')}`);
  if (!Number.isInteger(preset.version) || preset.version < 1) throw new Error(`Preset ${file}: version must be a positive integer`);
  if (preset.testing.maxPoolSize > 20) throw new Error(`Preset ${file}: testing.maxPoolSize may not exceed 20 (rules.md 14)`);
  // Tracing reads venue scans that far back: scans removed sooner would hide contacts.
  if (!(preset.entry.scanRetentionDays >= preset.contacts.colocationLookBackDays)) {
    throw new Error(`Preset ${file}: entry.scanRetentionDays (${preset.entry.scanRetentionDays}) must be at least contacts.colocationLookBackDays (${preset.contacts.colocationLookBackDays})`);
  }
  for (const zone of Object.keys(preset.entry.confinedZones)) {
    if (!['sealed', 'controlled', 'precaution'].includes(zone)) throw new Error(`Preset ${file}: entry.confinedZones names "${zone}", not a zone (sealed, controlled, precaution)`);
  }
  return preset;
}

/** The label a decision records: "shanghai-2022-05@1". */
export const presetLabel = (p: Preset) => `${p.id}@${p.version}`;

// Every setting the reference preset has must be present in a copy (values may differ).
function missingKeys(reference: unknown, candidate: unknown, prefix = ''): string[] {
  if (typeof reference !== 'object' || reference === null || Array.isArray(reference)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(reference)) {
    const c = (candidate as Record<string, unknown> | null)?.[k];
    if (c === undefined) out.push(prefix + k);
    else out.push(...missingKeys(v, c, `${prefix}${k}.`));
  }
  return out;
}
